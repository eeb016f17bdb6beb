"""Fixtures for runner tests: small gold sets on disk and a suite writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

PEOPLE = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Édouard Manet", "Zoë Kravitz", "Bjørn Borg"]
CITIES = ["Paris", "Zürich", "Lagos", "Kyoto", "Łódź"]


def _doc(i: int) -> dict[str, Any]:
    person, city = PEOPLE[i % len(PEOPLE)], CITIES[i % len(CITIES)]
    text = f"Yesterday {person} flew to {city} for meeting {i}."
    p0 = len("Yesterday ")
    c0 = text.index(city)
    spans = [
        {"start": p0, "end": p0 + len(person), "label": "PER"},
        {"start": c0, "end": c0 + len(city), "label": "LOC"},
    ]
    return {"id": f"d{i}", "text": text, "spans": spans}


def write_gold(path: Path, n: int, *, marker_every: int = 0) -> Path:
    lines = []
    for i in range(n):
        doc = _doc(i)
        if marker_every and i % marker_every == 0:
            doc["text"] += " BOOM"
        lines.append(json.dumps(doc, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def gold_files(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "data"
    data.mkdir()
    return {
        "news": write_gold(data / "news.jsonl", 24, marker_every=5),
        "mail": write_gold(data / "mail.jsonl", 10),
    }


SuiteWriter = Callable[..., Path]


@pytest.fixture
def write_suite(tmp_path: Path, gold_files: dict[str, Path]) -> SuiteWriter:
    def write(models: list[dict[str, Any]], *, settings: dict[str, Any] | None = None, **extra: Any) -> Path:
        suite = {
            "name": "test-suite",
            "schema": {"PER": "a person", "LOC": "a place"},
            "datasets": [{"name": name, "path": str(path)} for name, path in gold_files.items()],
            "models": models,
            "settings": {"batch_size": 4, "latency_samples": 5, "warmup": 1, "bootstrap": 200, **(settings or {})},
            **extra,
        }
        path = tmp_path / "suite.yaml"
        path.write_text(yaml.safe_dump(suite, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    return write


def nerbench(
    *args: str | Path, cwd: Path, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, with the repo on PYTHONPATH so suites can name tests.fakes adapters."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "nerbench.cli", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def results(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


def cell(document: dict[str, Any], model: str, dataset: str) -> dict[str, Any]:
    return next(c for c in document["cells"] if c["model"] == model and c["dataset"] == dataset)
