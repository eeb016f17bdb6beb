"""``nerbench score`` read and scored a batch at a time gives every number the whole-file path gives.

Each test scores real files twice: as ``evaluate_files`` does by default (streamed, with tiny blocks and
batches so that every boundary is crossed), and with the streamed path refused (the files read whole, as
before it existed); the two ``score --json`` objects must be equal, CIs included. The cases the streamed
path must hand back (ids in another order, a late error, a scheme that changes, a label that turns out to be
gold) are each checked to give the whole-file result or error.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nerbench.evaluation as evaluation
import nerbench.evaluation_stream as stream
from nerbench.adapters.data import conll_blocks, jsonl_blocks
from nerbench.adapters.data.blocks import NotStreamable
from nerbench.doc_rows import DocRows
from nerbench.errors import InputError
from nerbench.labels import load_label_map

LABELS = ("PER", "ORG", "LOC", "MISC")
WORDS = ("alpha", "Beta", "gamma", "Delta", "eps", "Zeta", "eta", "Theta", "iota", "Kappa")


def _tags(rng: random.Random, n: int, labels: tuple[str, ...], noise: float) -> list[str]:
    tags, i = [], 0
    while i < n:
        if rng.random() < 0.25:
            label, width = rng.choice(labels), rng.randint(1, 3)
            for k in range(min(width, n - i)):
                tags.append(("I-" if k or rng.random() < noise else "B-") + label)
            i += width
        else:
            tags.append("O")
            i += 1
    return tags[:n]


def _corpus(seed: int, docs: int, *, noise: float = 0.05, pred_labels: tuple[str, ...] = LABELS) -> tuple[str, str]:
    """Gold and predicted CoNLL text over the same tokens (predictions: the gold tags, changed at random)."""
    rng = random.Random(seed)
    gold_lines, pred_lines = [], []
    for _ in range(docs):
        n = rng.randint(1, 12)
        tokens = [rng.choice(WORDS) for _ in range(n)]
        gold = _tags(rng, n, LABELS, noise)
        pred = gold if rng.random() < 0.5 else _tags(rng, n, pred_labels, noise)
        gold_lines += [f"{t}\t{g}" for t, g in zip(tokens, gold, strict=True)] + [""]
        pred_lines += [f"{t}\t{p}" for t, p in zip(tokens, pred, strict=True)] + [""]
    return "\n".join(gold_lines) + "\n", "\n".join(pred_lines) + "\n"


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few hundred characters, batches of 7 documents, whole-row tables of 40 documents only."""
    monkeypatch.setattr(conll_blocks, "BLOCK_CHARS", 300)
    monkeypatch.setattr(jsonl_blocks, "BLOCK_LINES", 5)
    monkeypatch.setattr(stream, "BATCH", 7)
    monkeypatch.setattr("nerbench.doc_rows.KEEP_WHOLE", 40)


def both(gold: Path, pred: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> tuple[dict[str, Any], bool]:
    """(the whole-file result, whether the streamed path gave that same result itself)."""
    streamed: list[bool] = []
    original = stream.score_streamed

    def spy(*args: Any, **kw: Any) -> stream.StreamedScore:
        try:
            out = original(*args, **kw)
        except NotStreamable:
            streamed.append(False)
            raise
        streamed.append(True)
        return out

    monkeypatch.setattr(evaluation, "score_streamed", spy)
    first = evaluation.evaluate_files(gold, pred, **kwargs).to_json()

    def refuse(*args: Any, **kw: Any) -> stream.StreamedScore:
        raise NotStreamable("read whole")

    monkeypatch.setattr(evaluation, "score_streamed", refuse)
    whole = evaluation.evaluate_files(gold, pred, **kwargs).to_json()
    assert first == whole
    return whole, streamed == [True]


@pytest.mark.parametrize("seed", range(6))
def test_streamed_conll_equals_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_blocks: None, seed: int
) -> None:
    gold_text, pred_text = _corpus(seed, 120, noise=0.05 * seed)
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.conll"
    gold.write_text(gold_text, encoding="utf-8")
    pred.write_text(pred_text, encoding="utf-8")
    metrics, streamed = both(gold, pred, monkeypatch, bootstrap=200, seed=seed)
    assert streamed
    assert metrics["documents"] == 120
    assert metrics["micro"]["f1_ci"] is not None
    assert all(row["f1_ci"] is not None for row in metrics["per_label"].values() if row["support"])


def test_streamed_keeps_rows_whole_or_distinct_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_blocks: None
) -> None:
    """Beyond KEEP_WHOLE documents the rows are kept as distinct rows: the CIs stay those of the whole table."""
    gold_text, pred_text = _corpus(11, 600)
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.conll"
    gold.write_text(gold_text, encoding="utf-8")
    pred.write_text(pred_text, encoding="utf-8")
    metrics, streamed = both(gold, pred, monkeypatch, bootstrap=300, seed=3)
    assert streamed and metrics["documents"] == 600


def test_streamed_jsonl_and_mixed_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_blocks: None) -> None:
    gold_text, pred_text = _corpus(5, 80)
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.conll"
    gold.write_text(gold_text, encoding="utf-8")
    pred.write_text(pred_text, encoding="utf-8")
    for src in (gold, pred):
        subprocess.run([sys.executable, "-m", "nerbench.cli", "convert", src, src.with_suffix(".jsonl")], check=True)
    for g, p in ((gold.with_suffix(".jsonl"), pred.with_suffix(".jsonl")), (gold, pred.with_suffix(".jsonl"))):
        _, streamed = both(g, p, monkeypatch, bootstrap=100)
        assert streamed


def test_a_label_map_and_a_late_gold_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_blocks: None) -> None:
    """Predictions carry MISC from the start; gold has MISC only in its last document: early batches judged
    MISC out of schema, so the files are scored again knowing the schema: the whole-file result."""
    gold_lines = ["a\tB-PER\n\n"] * 30 + ["b\tB-MISC\n"]
    pred_lines = ["a\tB-MISC\n\n"] * 30 + ["b\tB-MISC\n"]
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.conll"
    gold.write_text("".join(gold_lines), encoding="utf-8")
    pred.write_text("".join(pred_lines), encoding="utf-8")
    metrics, streamed = both(gold, pred, monkeypatch)
    assert streamed
    assert metrics["counts"]["label_error"] == 30 and metrics["counts"]["out_of_schema"] == 0
    mapped, streamed = both(gold, pred, monkeypatch, label_map=load_label_map({"MISC": "PER"}))
    assert streamed and mapped["counts"]["correct"] == 30


def test_reordered_predictions_pair_by_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_blocks: None) -> None:
    docs = [{"id": f"d{i}", "text": f"Word{i} here", "spans": [{"start": 0, "end": 4 + len(str(i)), "label": "PER"}]}
            for i in range(30)]  # fmt: skip
    gold, pred = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    gold.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    pred.write_text("".join(json.dumps(d) + "\n" for d in reversed(docs)), encoding="utf-8")
    metrics, streamed = both(gold, pred, monkeypatch)
    assert not streamed and metrics["micro"]["f1"] == 1.0


@pytest.mark.parametrize(
    ("late", "why"),
    [("z\tX-PER\n", "malformed tag"), ("z\tB-PER\tO\n", "another column count"), ("z\tE-PER\n", "scheme changes")],
)
def test_a_late_surprise_gives_the_whole_file_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_blocks: None, late: str, why: str
) -> None:
    gold_text, pred_text = _corpus(2, 60)
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.conll"
    gold.write_text(gold_text + "\n" + late, encoding="utf-8")
    pred.write_text(pred_text + "\n" + late, encoding="utf-8")
    try:
        whole: dict[str, Any] | str = both(gold, pred, monkeypatch)[0]
    except InputError as err:
        whole = str(err)
    monkeypatch.setattr(stream, "BATCH", 10_000)
    monkeypatch.setattr(conll_blocks, "BLOCK_CHARS", 1 << 20)
    try:
        big: dict[str, Any] | str = evaluation.evaluate_files(gold, pred).to_json()
    except InputError as err:
        big = str(err)
    assert whole == big, why


def test_texts_that_differ_are_the_whole_file_error(tmp_path: Path, tiny_blocks: None) -> None:
    gold_text, pred_text = _corpus(4, 40)
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.conll"
    gold.write_text(gold_text, encoding="utf-8")
    pred.write_text(pred_text.replace("alpha", "ALPHA", 1), encoding="utf-8")
    with pytest.raises(InputError, match="text differs at character"):
        evaluation.evaluate_files(gold, pred)


def test_crlf_and_bom_files_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_blocks: None) -> None:
    gold_text, pred_text = _corpus(8, 50)
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.conll"
    gold.write_bytes(b"\xef\xbb\xbf" + gold_text.replace("\n", "\r\n").encode())
    pred.write_bytes(pred_text.replace("\n", "\r").encode())
    _, streamed = both(gold, pred, monkeypatch, bootstrap=50)
    assert streamed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), docs=st.integers(1, 30), batch=st.integers(1, 9), chars=st.integers(1, 200))
def test_any_batching_gives_the_same_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, docs: int, batch: int, chars: int
) -> None:
    monkeypatch.setattr(conll_blocks, "BLOCK_CHARS", chars)
    monkeypatch.setattr(stream, "BATCH", batch)
    monkeypatch.setattr("nerbench.doc_rows.KEEP_WHOLE", seed % 12)
    gold_text, pred_text = _corpus(seed, docs, noise=0.2, pred_labels=("PER", "ORG", "DATE"))
    gold, pred = tmp_path / f"g{seed}.conll", tmp_path / f"p{seed}.conll"
    gold.write_text(gold_text, encoding="utf-8")
    pred.write_text(pred_text, encoding="utf-8")
    both(gold, pred, monkeypatch, bootstrap=40, seed=seed)


def test_doc_rows_whole_then_distinct() -> None:
    rows = DocRows(keep=3)
    assert rows.column("A") == 0
    rows.add([[1, 1, 1]] * 10 + [[0, 1, 0]] * 2)
    assert rows.column("B") == 3
    rows.add([[0, 0, 1, 1, 1, 1]] * 3 + [[1, 1, 1, 0, 0, 0]] * 5)
    table, counts = rows.table(["B", "A"])
    assert counts is not None
    got = sorted(zip(map(tuple, table.tolist()), counts.tolist(), strict=True))
    assert got == [((0, 0, 0, 0, 1, 0), 2), ((0, 0, 0, 1, 1, 1), 15), ((1, 1, 1, 0, 0, 1), 3)]


def test_doc_rows_stay_whole_while_nearly_all_distinct() -> None:
    rows = DocRows(keep=2)
    rows.column("A")
    for k in range(10):
        rows.add([[k, k, k]])
    table, counts = rows.table(["A"])
    assert counts is None and table[:, 0].tolist() == list(range(10))


def test_a_repeated_jsonl_id_is_the_whole_file_error(tmp_path: Path, tiny_blocks: None) -> None:
    lines = [json.dumps({"id": f"d{i % 17}", "text": f"w{i}", "spans": []}) + "\n" for i in range(20)]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match="duplicate document id") as err:
        evaluation.evaluate_files(gold, gold)
    assert err.value.line == 18
