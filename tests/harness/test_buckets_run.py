"""The buckets in results.json equal an independent recomputation from the run directory's own files (gold,
predictions) and the train file: this test's own exact-match implementation, not the project's code."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import nerbench
from tests.harness.conftest import REPO, results
from tests.harness.conftest import nerbench as run_cli

WORDS = {1: "1", 2: "2", 3: "3"}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def recompute(gold_file: Path, pred_file: Path, train_file: Path) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(correct, predicted, gold) per (attribute, bucket) for words-per-entity and seen/unseen, by exact match."""
    train = {(d["text"][s["start"] : s["end"]], s["label"]) for d in _lines(train_file) for s in d["spans"]}
    preds = {d["id"]: d for d in _lines(pred_file)}
    tally: Counter[tuple[str, str, str]] = Counter()
    for g in _lines(gold_file):
        text = g["text"]
        gold = {(s["start"], s["end"], s["label"]) for s in g["spans"]}
        pred = {(s["start"], s["end"], s["label"]) for s in preds[g["id"]]["spans"]}
        for side, spans in (("gold", gold), ("predicted", pred)):
            for start, end, label in spans:
                surface = text[start:end]
                words = WORDS.get(len(surface.split()), "4+")
                seen = "seen" if (surface, label) in train else "unseen"
                for key in (("span_words", words), ("seen", seen)):
                    tally[(*key, side)] += 1
                    if side == "gold" and (start, end, label) in pred:
                        tally[(*key, "correct")] += 1
    keys = {(a, b) for a, b, _ in tally}
    return {k: (tally[(*k, "correct")], tally[(*k, "predicted")], tally[(*k, "gold")]) for k in keys}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("buckets")
    suite = REPO / "suites" / "quickstart.yaml"
    run_cli("run", suite, "--models", "crf,rules-general", "--datasets", "general", "--out", work / "run",
            "--store", work / "db", cwd=work)  # fmt: skip
    return work / "run"


@pytest.mark.parametrize("model", ["crf", "rules-general"])
def test_seen_unseen_and_length_buckets_equal_an_independent_recomputation(run_dir: Path, model: str) -> None:
    cell = next(c for c in results(run_dir)["cells"] if c["model"] == model)
    expected = recompute(
        run_dir / "gold" / "general.jsonl",
        run_dir / "predictions" / f"{model}__general.jsonl",
        REPO / "datasets" / "general" / "train.jsonl",
    )
    stored = {(b["attribute"], b["value"]): b for b in cell["buckets"] if b["attribute"] in ("span_words", "seen")}
    assert set(stored) == set(expected)
    for key, (correct, predicted, gold) in expected.items():
        b = stored[key]
        assert (b["correct"], b["predicted"], b["gold"]) == (correct, predicted, gold), key
        assert b["recall"] == pytest.approx(correct / gold if gold else None)
        assert b["precision"] == pytest.approx(correct / predicted if predicted else None)
        lo, hi = b["f1_ci"]
        assert 0 <= lo <= hi <= 1
    assert stored[("seen", "seen")]["note"] == "train split of general"


def test_every_cell_holds_every_bucket_with_support_and_ci_and_pandas_reads_them(run_dir: Path) -> None:
    document = results(run_dir)
    for cell in document["cells"]:
        attributes = {b["attribute"] for b in cell["buckets"]}
        assert attributes == {"span_words", "span_chars", "capitalisation", "label", "seen", "position",
                              "doc_words", "density", "doc_caps"}  # fmt: skip
        for b in cell["buckets"]:
            assert b["gold"] >= 0 and b["predicted"] >= 0 and b["thin"] == (b["gold"] < 10)
        per_label = cell["metrics"]["per_label"]
        assert all(row["f1_ci"] is not None and set(row["semeval"]) == {"strict", "exact", "partial", "type"}
                   for row in per_label.values() if row["support"])  # fmt: skip
        assert cell["metrics"]["relaxed"]["f1"] >= cell["metrics"]["micro"]["f1"]
    frame = nerbench.load_results(run_dir).buckets
    assert len(frame) == sum(len(c["buckets"]) for c in document["cells"])
    crf_seen = frame[(frame["model"] == "crf") & (frame["attribute"] == "seen")].set_index("bucket")
    assert crf_seen.loc["seen", "recall"] > crf_seen.loc["unseen", "recall"]  # a CRF remembers its training names


def test_score_gives_the_runs_per_label_cis_with_and_without_buckets(run_dir: Path) -> None:
    """A label's CI is resampled from the label columns alone: the same in a run, in score, and in score --buckets."""
    cell = next(c for c in results(run_dir)["cells"] if c["model"] == "crf")
    expected = {label: s["f1_ci"] for label, s in cell["metrics"]["per_label"].items()}
    assert expected and all(expected.values())
    train = REPO / "datasets" / "general" / "train.jsonl"
    pred = run_dir / "predictions" / "crf__general.jsonl"
    base = ("score", "--gold", run_dir / "gold" / "general.jsonl", "--pred", pred, "--json", "--train", train)
    for extra in ((), ("--buckets",)):
        scored = json.loads(run_cli(*base, *extra, cwd=run_dir).stdout)
        assert {label: s["f1_ci"] for label, s in scored["per_label"].items()} == expected, extra
