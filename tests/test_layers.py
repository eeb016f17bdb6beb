"""The package's imports follow DESIGN.md's layers, and model libraries stay in adapters.

Layers, bottom to top: types/errors -> labels/tagging -> adapters, scoring ->
evaluation -> harness -> reports -> cli. An import never goes up a layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nerbench"

LAYERS: list[tuple[str, int]] = [
    ("nerbench.types", 0),
    ("nerbench.errors", 0),
    ("nerbench.fileio", 0),
    ("nerbench.limits", 0),
    ("nerbench.redact", 0),
    ("nerbench.gc_paused", 0),
    ("nerbench.labels", 1),
    ("nerbench.tagging", 1),
    ("nerbench.adapters", 2),
    ("nerbench.scoring", 2),
    ("nerbench.matching", 2),
    ("nerbench.train_overlap", 2),
    ("nerbench.buckets", 2),
    ("nerbench.doc_rows", 2),
    ("nerbench.views", 2),
    ("nerbench.evaluation", 3),
    ("nerbench.evaluation_stream", 3),
    ("nerbench.harness", 4),
    ("nerbench.reports", 5),
    ("nerbench.cli", 6),
    ("nerbench.cli_views", 6),
    ("nerbench", 6),  # the package facade re-exports from every layer
]
# Pairs within one layer that must not know each other: (importer prefix, imported prefix).
FORBIDDEN_SIDEWAYS = [
    ("nerbench.scoring", "nerbench.adapters"),
    ("nerbench.matching", "nerbench.adapters"),
    ("nerbench.adapters", "nerbench.scoring"),
    ("nerbench.adapters.data", "nerbench.adapters.models"),
    ("nerbench.adapters.models", "nerbench.adapters.data"),
]
MODEL_LIBRARIES = {
    "spacy", "transformers", "torch", "gliner", "flair", "stanza", "boto3", "botocore",
    "google", "ibm_watson", "ibm_cloud_sdk_core", "openai", "sklearn_crfsuite", "pycrfsuite", "datasets",
}  # fmt: skip


def _layer(module: str) -> int:
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise AssertionError(f"module {module} has no layer: add it to LAYERS")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                package = module.split(".")[: -node.level + (1 if path.name == "__init__.py" else 0) or None]
                base = ".".join([*package, node.module])
            names.append((base, node.lineno))
    return names


@pytest.mark.parametrize(("module", "path"), _modules(), ids=lambda v: str(v))
def test_imports_never_go_up_a_layer(module: str, path: Path) -> None:
    if module == "nerbench":
        return
    own = _layer(module)
    for name, line in _imports(module, path):
        if not name.startswith("nerbench"):
            continue
        assert _layer(name) <= own, f"{path}:{line}: {module} (layer {own}) imports {name} (layer {_layer(name)})"
        for importer, imported in FORBIDDEN_SIDEWAYS:
            if module.startswith(importer) and name.startswith(imported):
                raise AssertionError(f"{path}:{line}: {module} must not import {name}")


@pytest.mark.parametrize(("module", "path"), _modules(), ids=lambda v: str(v))
def test_model_libraries_are_imported_only_in_adapters(module: str, path: Path) -> None:
    if module.startswith("nerbench.adapters"):
        return
    for name, line in _imports(module, path):
        root = name.split(".")[0]
        assert root not in MODEL_LIBRARIES, f"{path}:{line}: {module} imports {name}; only adapters may"


def test_the_layer_check_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "scoring.py"
    bad.write_text("from nerbench.harness import runner\n", encoding="utf-8")
    (name, _), *_ = _imports("nerbench.scoring", bad)
    assert _layer(name) > _layer("nerbench.scoring")
