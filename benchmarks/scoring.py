"""Scoring speed against seqeval and nervaluate (run on demand, not a test).

    .venv/bin/python benchmarks/scoring.py [--sentences 50000] [--check]

Generates a seeded corpus of sentences x 15 tokens (about two entities per
sentence) and predictions made from the gold by realistic noise (label changes,
boundary shifts, drops, spurious entities), then times, median of 3:

(a) in process, on already-read tags and spans: nerbench ``score()`` with
    everything it computes (counts, per label, macro, SemEval views, instance
    records; not the bootstrap) against seqeval ``classification_report`` and
    nervaluate ``Evaluator(...).evaluate()``;
(b) whole process: ``nerbench score --json --bootstrap 0`` on two CoNLL files
    against a Python process that reads the same files and calls seqeval's
    ``classification_report``.

Prints a Markdown table; with ``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from nerbench.scoring import score
from nerbench.tagging import chunks_to_tags, tags_to_chunks
from nerbench.types import Document, Span

LABELS = ("PER", "ORG", "LOC", "MISC")
TOKENS = 15
WORDS = tuple(f"w{i}" for i in range(500))
SEQEVAL_SCRIPT = """
import sys
from seqeval.metrics import classification_report

def read(path):
    sents, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\\n")
            if not line:
                if cur:
                    sents.append(cur)
                cur = []
            else:
                cur.append(line.split("\\t")[-1])
    if cur:
        sents.append(cur)
    return sents

print(classification_report(read(sys.argv[1]), read(sys.argv[2]), digits=4))
"""

Chunk = tuple[int, int, str]


def gold_chunks(rng: random.Random) -> list[Chunk]:
    """Two entities on average, 1-3 tokens long, never touching."""
    chunks: list[Chunk] = []
    i = 0
    while i < TOKENS:
        if rng.random() < 0.18:
            length = min(rng.choice((1, 1, 2, 2, 3)), TOKENS - i)
            chunks.append((i, i + length, rng.choice(LABELS)))
            i += length + 1
        else:
            i += 1
    return chunks


def noisy(chunks: list[Chunk], rng: random.Random) -> list[Chunk]:
    """Gold with label changes, boundary shifts, drops and spurious entities."""
    out: list[Chunk] = []
    for start, end, label in chunks:
        r = rng.random()
        if r < 0.05:
            continue  # dropped
        if r < 0.10:
            label = rng.choice([lab for lab in LABELS if lab != label])
        elif r < 0.15:
            start, end = (start, end + 1) if end < TOKENS and rng.random() < 0.5 else (start, max(start + 1, end - 1))
        out.append((start, end, label))
    if rng.random() < 0.1:
        i = rng.randrange(TOKENS)
        out.append((i, i + 1, rng.choice(LABELS)))
    return sorted(_non_overlapping(sorted(out)))


def _non_overlapping(chunks: list[Chunk]) -> list[Chunk]:
    kept: list[Chunk] = []
    for chunk in chunks:
        if not kept or kept[-1][1] <= chunk[0]:
            kept.append(chunk)
    return kept


def make_corpus(sentences: int, seed: int) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """Tokens, gold tags and predicted tags (IOB2) for each sentence."""
    rng = random.Random(seed)
    tokens, gold, pred = [], [], []
    for _ in range(sentences):
        chunks = gold_chunks(rng)
        tokens.append([rng.choice(WORDS) for _ in range(TOKENS)])
        gold.append(chunks_to_tags(chunks, TOKENS))
        pred.append(chunks_to_tags(noisy(chunks, rng), TOKENS))
    return tokens, gold, pred


def to_spans(tokens: list[str], tags: list[str]) -> tuple[str, tuple[Span, ...]]:
    """The sentence text (tokens joined by single spaces) and its spans."""
    starts = []
    pos = 0
    for tok in tokens:
        starts.append(pos)
        pos += len(tok) + 1
    spans = tuple(Span(starts[s], starts[e - 1] + len(tokens[e - 1]), lab) for s, e, lab in tags_to_chunks(tags).chunks)
    return " ".join(tokens), spans


def nervaluate_entities(tags: list[list[str]]) -> list[list[dict[str, object]]]:
    """nervaluate's dict loader: inclusive token ends."""
    return [[{"label": lab, "start": s, "end": e - 1} for s, e, lab in tags_to_chunks(t).chunks] for t in tags]


def median_time(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def in_process(tokens: list[list[str]], gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    from nervaluate import Evaluator
    from seqeval.metrics import classification_report

    docs, predictions = [], []
    for n, (toks, g, p) in enumerate(zip(tokens, gold, pred, strict=True)):
        text, gspans = to_spans(toks, g)
        docs.append(Document(str(n), text, gspans))
        predictions.append(list(to_spans(toks, p)[1]))
    true_ents, pred_ents = nervaluate_entities(gold), nervaluate_entities(pred)

    def run_nerbench() -> None:
        result = score(docs, predictions)
        result.semeval(), result.macro, result.counts.as_dict(), result.counts.gold_breakdown()

    def run_nervaluate() -> None:
        Evaluator(true_ents, pred_ents, tags=list(LABELS), loader="dict").evaluate()

    return {
        "nerbench": median_time(run_nerbench),
        "seqeval": median_time(lambda: classification_report(gold, pred, digits=4)),
        "nervaluate": median_time(run_nervaluate),
    }


def write_conll(path: Path, tokens: list[list[str]], tags: list[list[str]]) -> None:
    lines: list[str] = []
    for toks, tgs in zip(tokens, tags, strict=True):
        lines.extend(f"{tok}\t{tag}" for tok, tag in zip(toks, tgs, strict=True))
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def whole_process(tokens: list[list[str]], gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        g, p, script = Path(tmp, "gold.conll"), Path(tmp, "pred.conll"), Path(tmp, "seqeval_report.py")
        write_conll(g, tokens, gold)
        write_conll(p, tokens, pred)
        script.write_text(SEQEVAL_SCRIPT, encoding="utf-8")
        script_path = Path(sys.executable).with_name("nerbench")
        launcher = [str(script_path)] if script_path.exists() else [sys.executable, "-m", "nerbench.cli"]
        nerbench_cmd = [*launcher, "score", "--gold", str(g), "--pred", str(p), "--json", "--bootstrap", "0"]
        seqeval_cmd = [sys.executable, str(script), str(g), str(p)]
        out = {}
        for name, cmd in (("nerbench CLI", nerbench_cmd), ("seqeval script", seqeval_cmd)):
            failed = subprocess.run(cmd, capture_output=True, text=True)
            if failed.returncode != 0:
                tail = (failed.stderr.strip().splitlines() or ["(no output)"])[-1]
                print(f"{name} failed (exit {failed.returncode}): {tail}", file=sys.stderr)
                out[name] = float("nan")
                continue
            out[name] = median_time(partial(subprocess.run, cmd, check=True, capture_output=True))
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--in-process-only", action="store_true", help="skip (b), the whole-process timing")
    args = parser.parse_args(argv)
    tokens, gold, pred = make_corpus(args.sentences, args.seed)
    entities = sum(len(tags_to_chunks(t).chunks) for t in gold)
    a = in_process(tokens, gold, pred)
    nan = float("nan")
    b = {"nerbench CLI": nan, "seqeval script": nan} if args.in_process_only else whole_process(tokens, gold, pred)
    rows = [
        ("(a) nerbench score()", a["nerbench"], None, None),
        ("(a) seqeval classification_report", a["seqeval"], a["seqeval"] / a["nerbench"], 20.0),
        ("(a) nervaluate Evaluator.evaluate()", a["nervaluate"], a["nervaluate"] / a["nerbench"], 15.0),
        ("(b) nerbench score --json --bootstrap 0", b["nerbench CLI"], None, None),
        (
            "(b) python + seqeval classification_report",
            b["seqeval script"],
            b["seqeval script"] / b["nerbench CLI"],
            4.0,
        ),
    ]
    print(f"{args.sentences} sentences x {TOKENS} tokens, {entities} gold entities, seed {args.seed}\n")
    print("| what | seconds (median of 3) | ratio (peer / nerbench) | target | pass |")
    print("|---|---:|---:|---:|---|")
    missed = 0
    for what, seconds, ratio, target in rows:
        ok = ratio is None or target is None or ratio >= target  # a NaN ratio (a failed run) misses
        missed += not ok
        shown_ratio = "" if ratio is None else f"{ratio:.1f}x"
        shown_target = "" if target is None else f">= {target:.0f}x"
        verdict = "" if target is None else "yes" if ok else "NO"
        print(f"| {what} | {seconds:.3f} | {shown_ratio} | {shown_target} | {verdict} |")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
