"""How nerbench's cost grows with the corpus (run on demand, not a test).

    .venv/bin/python benchmarks/scale.py [--sizes 10000,100000,1000000] [--skip-run | --run-only]
        [--keep DIR] [--max-run-mb MB] [--max-report-mb MB]

For each size, a seeded corpus of ~15-word sentences (about two entities each, predictions with realistic
noise, as ``benchmarks/scoring.py`` makes them) written as CoNLL files, then, each as its own process, its
wall time and peak RSS (``/usr/bin/time``-style, from ``resource.getrusage`` of the child):

- ``nerbench score`` with its default 1000-resample CI, and with ``--bootstrap 0``;
- a Python script reading the same files and calling seqeval's ``classification_report``;
- (unless ``--skip-run``) ``nerbench run`` of a rules + CRF suite over the corpus as JSONL, then
  ``nerbench report`` on the run: wall time and the driver's peak RSS (the workers are processes of their
  own, so the ``run`` row is the driver alone).

``--run-only`` leaves out the scorer rows; ``--keep DIR`` keeps each size's run directory and report under
``DIR/<size>`` (to compare two versions' files). The memory regression check: with ``--max-run-mb`` or
``--max-report-mb``, it exits 1 when the driver of ``nerbench run`` or ``nerbench report`` peaks above it
(at 100,000 sentences the run's driver peaked at 0.9 GB and the report at 0.2 GB, from 1.5 GB and 1.0 GB
before the run directory and the report streamed).

Prints a Markdown table to paste into README's Benchmarks section.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scoring import SEQEVAL_SCRIPT, make_corpus, to_spans, write_conll

NERBENCH = [sys.executable, "-m", "nerbench.cli"]
Row = tuple[str, float, float]  # what ran, seconds, the process's peak RSS in MB


def measured(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one child process, read with ``os.wait4`` so the peak is that child's own."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd[:4])} failed ({code}): {err.read().decode()[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def write_jsonl(path: Path, tokens: list[list[str]], tags: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i, (toks, tgs) in enumerate(zip(tokens, tags, strict=True)):
            text, spans = to_spans(toks, tgs)
            spans_json = [{"start": s.start, "end": s.end, "label": s.label} for s in spans]
            out.write(json.dumps({"id": f"s{i}", "text": text, "spans": spans_json}) + "\n")


SUITE = """name: scale
datasets:
  - {{name: synthetic, path: {test}, train: {train}}}
models:
  - {{name: rules, adapter: rules, regex: [{{label: PER, pattern: "w1[0-9]"}}, {{label: ORG, pattern: "w2[0-9]"}}]}}
  - {{name: crf, adapter: crf, max_iterations: 20}}
settings: {{batch_size: 256, latency_samples: 20, warmup: 2}}
"""


def score_rows(work: Path, tokens: list[list[str]], gold: list[list[str]], pred: list[list[str]]) -> list[Row]:
    g, p = work / "gold.conll", work / "pred.conll"
    write_conll(g, tokens, gold)
    write_conll(p, tokens, pred)
    (work / "seqeval_report.py").write_text(SEQEVAL_SCRIPT, encoding="utf-8")
    rows = []
    for what, cmd in (
        ("seqeval script", [sys.executable, str(work / "seqeval_report.py"), str(g), str(p)]),
        ("nerbench score --bootstrap 0", [*NERBENCH, "score", "--gold", str(g), "--pred", str(p), "--json",
                                          "--bootstrap", "0"]),
        ("nerbench score (default CI)", [*NERBENCH, "score", "--gold", str(g), "--pred", str(p), "--json"]),
    ):  # fmt: skip
        seconds, mb = measured(cmd, work)
        rows.append((what, seconds, mb))
    return rows


def one_size(n: int, work: Path, *, skip_run: bool, run_only: bool) -> list[Row]:
    tokens, gold, pred = make_corpus(n, seed=0)
    rows = [] if run_only else score_rows(work, tokens, gold, pred)
    if not skip_run:
        train_tokens, train_gold, _ = make_corpus(min(n, 20_000), seed=1)
        write_jsonl(work / "test.jsonl", tokens, gold)
        write_jsonl(work / "train.jsonl", train_tokens, train_gold)
        suite = work / "suite.yaml"
        suite.write_text(SUITE.format(test=work / "test.jsonl", train=work / "train.jsonl"), encoding="utf-8")
        run = [*NERBENCH, "run", str(suite), "--out", str(work / "run"), "--store", str(work / "r.db")]
        rows.append(("nerbench run (rules + crf)", *measured(run, work)))
        report = [*NERBENCH, "report", str(work / "run")]
        rows.append(("nerbench report", *measured(report, work)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--skip-run", action="store_true", help="only the scorer and seqeval")
    parser.add_argument("--run-only", action="store_true", help="only nerbench run and nerbench report")
    parser.add_argument("--keep", type=Path, help="keep each size's run directory and report under DIR/<size>")
    parser.add_argument("--max-run-mb", type=float, help="exit 1 when the run's driver peaks above this")
    parser.add_argument("--max-report-mb", type=float, help="exit 1 when nerbench report peaks above this")
    args = parser.parse_args(argv)
    limits = {"nerbench run (rules + crf)": args.max_run_mb, "nerbench report": args.max_report_mb}
    over = []
    print("| work | sentences | seconds | peak RSS MB |")
    print("|---|---:|---:|---:|")
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for what, seconds, mb in one_size(n, work, skip_run=args.skip_run, run_only=args.run_only):
                print(f"| {what} | {n:,} | {seconds:.1f} | {mb:.0f} |", flush=True)
                limit = limits.get(what)
                if limit is not None and mb > limit:
                    over.append(f"{what} at {n:,} sentences peaked at {mb:.0f} MB (limit {limit:g} MB)")
            if args.keep and (work / "run").is_dir():
                shutil.copytree(work / "run", args.keep / str(n), dirs_exist_ok=True)
    for line in over:
        print(f"memory regression: {line}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
