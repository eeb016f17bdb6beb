"""Gold documents and suites for the cloud adapters' end-to-end tests (``nerbench run`` on a local server).

The texts put non-ASCII letters, emoji (astral, surrogate pairs in UTF-16, 4 bytes
in UTF-8) and a ZWJ sequence before entities, so an adapter that returned byte or
UTF-16 offsets would miss every entity after them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.harness.conftest import nerbench, results
from tests.servers.base import find_entities

TEXTS = [
    "🙂 Ada Lovelace met Alan Turing in Zürich.",
    "Grace Hopper 👩‍💻 joined Acme Corp on Monday.",
    "Édouard Manet painted in Paris; Zoë Kravitz visited Łódź.",
    "Nothing to see here.",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 first, then Bjørn Borg in Kyoto.",
    "Ada Lovelace and Ada Lovelace again, in Lagos.",
]
GOLD_LABEL = {"PERSON": "PER", "LOCATION": "LOC", "ORGANIZATION": "ORG"}  # DATE is not annotated
SCHEMA = {"PER": "a person", "ORG": "an organisation", "LOC": "a place", "MISC": "any other name"}
PLANTED_SECRET = "planted-s3cret-KEY-0123456789abcdef"


def long_text(min_chars: int) -> str:
    """A document of sentences with emoji and umlauts, at least ``min_chars`` code points long."""
    sentence = "Über 🙂 den Wolken über Zürich sagt Ada Lovelace etwas Schönes zu Alan Turing. "
    return (sentence * (min_chars // len(sentence) + 1)).strip()


def gold_document(doc_id: str, text: str) -> dict[str, Any]:
    spans = [
        {"start": s, "end": e, "label": GOLD_LABEL[kind]} for s, e, _, kind in find_entities(text) if kind in GOLD_LABEL
    ]
    return {"id": doc_id, "text": text, "spans": spans}


def write_suite(
    tmp_path: Path,
    model: dict[str, Any],
    *,
    texts: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    train_texts: list[str] | None = None,
    **extra: Any,
) -> Path:
    """A suite of one dataset (``TEXTS`` by default) and one model, written under ``tmp_path``."""
    dataset = {"name": "gold", "path": str(_gold(tmp_path / "gold.jsonl", TEXTS if texts is None else texts))}
    if train_texts:
        dataset["train"] = str(_gold(tmp_path / "train.jsonl", train_texts))
    suite = {
        "name": "cloud-test",
        "schema": SCHEMA,
        "datasets": [dataset],
        "models": [model],
        "settings": {"batch_size": 4, "latency_samples": 0, "warmup": 0, "bootstrap": 0, **(settings or {})},
        **extra,
    }
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _gold(path: Path, texts: list[str]) -> Path:
    rows = [gold_document(f"d{i}", text) for i, text in enumerate(texts)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def run(tmp_path: Path, suite: Path, *args: str, check: bool = True, expect: int = 0) -> dict[str, Any]:
    """``nerbench run`` the suite; the run directory's results.json, with the CLI's output under ``_proc``.

    ``expect``: the exit status (1 when a cell fails: the run still writes everything).
    """
    proc = nerbench(
        "run", suite, "--out", tmp_path / "run", "--store", tmp_path / "r.db", *args, cwd=tmp_path, check=False
    )
    if check:
        assert proc.returncode == expect, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = results(tmp_path / "run") if (tmp_path / "run" / "results.json").exists() else {}
    doc["_proc"] = proc
    return doc


def predictions(tmp_path: Path, model: str) -> dict[str, dict[str, Any]]:
    """The run's predictions file for ``model`` on the gold dataset, by document id."""
    path = tmp_path / "run" / "predictions" / f"{model}__gold.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: row for row in rows}


def assert_no_secret(tmp_path: Path, proc: Any, secret: str = PLANTED_SECRET) -> None:
    """The secret is nowhere in the CLI's output and logs, the SQLite store, the run directory or the report."""
    assert secret not in proc.stdout + proc.stderr
    written = [*tmp_path.glob("r.db*"), *(tmp_path / "run").rglob("*"), *(tmp_path / ".nerbench").rglob("*")]
    assert any(p.name == "results.json" for p in written) and any(p.name == "report.html" for p in written)
    for path in written:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
