"""How nerbench's cost grows with the corpus (run on demand, not a test).

    .venv/bin/python benchmarks/scale.py [--sizes 10000,100000,1000000] [--peers-up-to 1000000]
        [--run-up-to 100000] [--skip-run | --run-only] [--keep DIR] [--max-run-mb MB] [--max-report-mb MB]

For each size, a seeded corpus of 15-token sentences (about two entities each, predictions with realistic
noise, as ``benchmarks/scoring.py`` makes them, written 100,000 sentences at a time so that 10M fits) as
CoNLL and JSONL files, then, each as its own process, its wall time and peak RSS (``os.wait4`` of the child):

- ``nerbench score`` with its default 1000-resample CI, with ``--bootstrap 0``, and on the JSONL files;
- scripts reading the same CoNLL files and calling seqeval's ``classification_report`` and nervaluate's
  ``Evaluator`` (up to ``--peers-up-to`` sentences: they hold everything in memory);
- (up to ``--run-up-to`` sentences, unless ``--skip-run``) ``nerbench run`` of a rules + CRF suite over the
  JSONL corpus, the same run again (a cache hit: the store's size before and after), and ``nerbench report``.

The ``run`` rows are the driver alone (the workers are processes of their own). ``--run-only`` leaves out
the scorer rows; ``--keep DIR`` keeps each size's run directory under ``DIR/<size>`` (to compare two
versions' files). The memory regression check: with ``--max-run-mb`` or ``--max-report-mb``, it exits 1
when the driver of ``nerbench run`` or ``nerbench report`` peaks above it.

Prints a Markdown table to paste into README's Benchmarks section.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scoring import SEQEVAL_SCRIPT, make_corpus, to_spans

NERBENCH = [sys.executable, "-m", "nerbench.cli"]


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


NERVALUATE_SCRIPT = SEQEVAL_SCRIPT.replace(
    "from seqeval.metrics import classification_report", "from nervaluate import Evaluator"
).replace(
    "print(classification_report(read(sys.argv[1]), read(sys.argv[2]), digits=4))",
    "print(Evaluator(read(sys.argv[1]), read(sys.argv[2]), tags=['PER', 'ORG', 'LOC', 'MISC'], loader='list')"
    ".evaluate()[0])",
)
CHUNK = 100_000


def write_corpus(n: int, work: Path) -> None:
    """gold/pred .conll and .jsonl of ``n`` sentences, generated and appended a chunk at a time."""
    names = ("gold.conll", "pred.conll", "gold.jsonl", "pred.jsonl")
    outs = [(work / name).open("w", encoding="utf-8") for name in names]
    try:
        for k, start in enumerate(range(0, n, CHUNK)):
            tokens, gold, pred = make_corpus(min(CHUNK, n - start), seed=k)
            for tags, conll, jsonl in ((gold, outs[0], outs[2]), (pred, outs[1], outs[3])):
                for i, (toks, tgs) in enumerate(zip(tokens, tags, strict=True)):
                    conll.write("".join(f"{tok}\t{tag}\n" for tok, tag in zip(toks, tgs, strict=True)) + "\n")
                    text, spans = to_spans(toks, tgs)
                    spans_json = [{"start": sp.start, "end": sp.end, "label": sp.label} for sp in spans]
                    jsonl.write(orjson.dumps({"id": f"s{start + i}", "text": text, "spans": spans_json}).decode())
                    jsonl.write("\n")
    finally:
        for out in outs:
            out.close()


SUITE = """name: scale
datasets:
  - {{name: synthetic, path: {test}, train: {train}}}
models:
  - {{name: rules, adapter: rules, regex: [{{label: PER, pattern: "w1[0-9]"}}, {{label: ORG, pattern: "w2[0-9]"}}]}}
  - {{name: crf, adapter: crf, max_iterations: 20}}
settings: {{batch_size: 256, latency_samples: 20, warmup: 2}}
"""


def last_prediction(store: Path) -> float:
    """When the run's last model answered its last request (the runner stores it with each prediction set)."""
    with sqlite3.connect(store) as db:
        perfs = [json.loads(text) for (text,) in db.execute("SELECT perf FROM prediction_sets") if text]
    return max(float(p.get("predicted_at") or 0.0) for p in perfs)


def one_size(n: int, work: Path, peers: bool, run: bool, scorers: bool = True) -> list[tuple[str, float, float]]:
    write_corpus(n, work)
    g, p = work / "gold.conll", work / "pred.conll"
    rows = []
    score = [*NERBENCH, "score", "--gold", str(g), "--pred", str(p), "--json"]
    todo = [
        ("nerbench score --bootstrap 0", [*score, "--bootstrap", "0"]),
        ("nerbench score (default CI)", score),
        ("nerbench score, JSONL (default CI)", [*NERBENCH, "score", "--gold", str(work / "gold.jsonl"),
                                                "--pred", str(work / "pred.jsonl"), "--json"]),
    ]  # fmt: skip
    if peers and scorers:
        for name, script in (("seqeval", SEQEVAL_SCRIPT), ("nervaluate", NERVALUATE_SCRIPT)):
            (work / f"{name}_report.py").write_text(script, encoding="utf-8")
            todo.append((f"{name} script", [sys.executable, str(work / f"{name}_report.py"), str(g), str(p)]))
    for what, cmd in todo if scorers else []:
        seconds, mb = measured(cmd, work)
        rows.append((what, seconds, mb))
    if run:
        train_tokens, train_gold, _ = make_corpus(min(n, 20_000), seed=10_001)
        with (work / "train.jsonl").open("w", encoding="utf-8") as out:
            for i, (toks, tgs) in enumerate(zip(train_tokens, train_gold, strict=True)):
                text, spans = to_spans(toks, tgs)
                spans_json = [{"start": sp.start, "end": sp.end, "label": sp.label} for sp in spans]
                out.write(orjson.dumps({"id": f"t{i}", "text": text, "spans": spans_json}).decode() + "\n")
        suite = work / "suite.yaml"
        suite.write_text(SUITE.format(test=work / "gold.jsonl", train=work / "train.jsonl"), encoding="utf-8")
        store = work / "r.db"
        cmd = [*NERBENCH, "run", str(suite), "--out", str(work / "run"), "--store", str(store)]
        started = time.time()
        seconds, mb = measured(cmd, work)
        rows.append(("nerbench run (rules + crf)", seconds, mb))
        after = started + seconds - last_prediction(store)
        rows.append((f"of which after the last prediction: {after:.1f} s ({after / seconds:.0%})", 0.0, 0.0))
        before = store.stat().st_size
        again = [*NERBENCH, "run", str(suite), "--out", str(work / "run2"), "--store", str(store)]
        rows.append(("nerbench run again (cache hit)", *measured(again, work)))
        rows.append((f"store MB after the run / after the rerun: {before / 2**20:.0f} / "
                     f"{store.stat().st_size / 2**20:.0f}", 0.0, 0.0))  # fmt: skip
        rows.append(("nerbench report", *measured([*NERBENCH, "report", str(work / "run")], work)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--peers-up-to", type=int, default=1_000_000, help="seqeval and nervaluate up to N")
    parser.add_argument("--run-up-to", type=int, default=100_000, help="nerbench run and report up to N")
    parser.add_argument("--skip-run", action="store_true", help="only the scorers")
    parser.add_argument("--run-only", action="store_true", help="only nerbench run and nerbench report")
    parser.add_argument("--work", type=Path, default=None, help="where the corpora go (default: a temp dir)")
    parser.add_argument("--keep", type=Path, help="keep each size's run directory under DIR/<size>")
    parser.add_argument("--max-run-mb", type=float, help="exit 1 when the run's driver peaks above this")
    parser.add_argument("--max-report-mb", type=float, help="exit 1 when nerbench report peaks above this")
    args = parser.parse_args(argv)
    limits = {"nerbench run (rules + crf)": args.max_run_mb, "nerbench report": args.max_report_mb}
    over = []
    print("| work | sentences | seconds | peak RSS MB |")
    print("|---|---:|---:|---:|")
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(dir=args.work) as tmp:
            work = Path(tmp)
            run = not args.skip_run and (args.run_only or n <= args.run_up_to)
            for what, seconds, mb in one_size(n, work, n <= args.peers_up_to, run, scorers=not args.run_only):
                if not seconds:
                    print(f"| {what} | {n:,} | | |", flush=True)
                    continue
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
