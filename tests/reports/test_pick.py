"""'Which to pick' on a small fixed results table, against answers worked out by hand."""

from __future__ import annotations

from nerbench.reports import pick
from nerbench.reports.model import Board, Row


def row(model: str, family: str, f1: float, p95: float, usd: float, labels: dict[str, float], **kw: object) -> Row:
    return Row(model=model, dataset="fin", status="done", adapter=family, family=family, f1=f1, p95_ms=p95,
               usd_per_1k=usd, per_label=labels, **kw)  # type: ignore[arg-type]  # fmt: skip


BOARD = Board(
    "fin",
    {"name": "fin", "labels": ["COMPANY", "MONEY", "TICKER"]},
    (
        row(
            "bert-ft", "transformers", 0.880, 40.0, 0.020, {"COMPANY": 0.85, "MONEY": 0.95, "TICKER": 0.80}, fit_s=90.0
        ),
        row("crf", "crf", 0.875, 2.0, 0.002, {"COMPANY": 0.90, "MONEY": 0.93, "TICKER": 0.70}, fit_s=3.0),
        row("gliner", "gliner", 0.874, 30.0, 0.001, {"COMPANY": 0.60, "MONEY": 0.90, "TICKER": 0.50}, kind="zero-shot"),
        row("spacy-sm", "spacy", 0.700, 5.0, 0.003, {"COMPANY": 0.00, "MONEY": 0.90, "TICKER": 0.00}),
        row("aws", "aws-comprehend", 0.760, 120.0, 1.000, {"COMPANY": 0.00, "MONEY": 0.92, "TICKER": 0.00}),
        row(
            "ibm",
            "ibm-nlu",
            0.500,
            300.0,
            3.000,
            {"COMPANY": 0.00, "MONEY": 0.50, "TICKER": 0.00},
            notice="deprecated by IBM: Watson NLU reaches end of support on 2027-07-31",
        ),
        Row(model="broken", dataset="fin", status="failed", adapter="llm", family="llm", f1=None, kind="zero-shot"),
    ),
)


def test_kinds_come_from_the_adapter_and_training() -> None:
    kinds = {r.model: pick.kind_of(r) for r in BOARD.rows}
    assert kinds == {"bert-ft": pick.TRAINED, "crf": pick.TRAINED, "gliner": pick.ZERO_SHOT,
                     "spacy-sm": pick.READY_MADE, "aws": pick.READY_MADE, "ibm": pick.READY_MADE,
                     "broken": pick.ZERO_SHOT}  # fmt: skip


def test_the_shown_kind_names_a_fine_tuned_encoder_and_its_architecture() -> None:
    finetuned = row("minilm", "transformers", 0.8, 9.0, 0.01, {}, fit_s=60.0,
                    describe={"kind": "fine-tuned encoder", "architecture": "BERT"})  # fmt: skip
    pretrained = row("roberta", "transformers", 0.8, 9.0, 0.01, {}, describe={"architecture": "RoBERTa"})
    assert pick.shown_kind(finetuned) == "fine-tuned encoder, BERT"
    assert pick.kind_of(finetuned) == pick.TRAINED  # build-or-buy still counts it as trained on your data
    assert pick.shown_kind(pretrained) == "ready-made, RoBERTa"
    assert pick.shown_kind(BOARD.rows[1]) == pick.TRAINED  # crf: nothing more to say


def test_most_accurate_fastest_and_cheapest_within_a_point() -> None:
    assert pick.most_accurate(BOARD).model == "bert-ft"
    # within 1 point of 0.880: bert-ft, crf (0.875), gliner (0.874 >= 0.870); fastest p95 is crf's 2 ms
    assert pick.fastest_within_a_point(BOARD).model == "crf"
    # cheapest of the same three: gliner at 0.001 USD per 1k documents
    assert pick.cheapest_within_a_point(BOARD).model == "gliner"


def test_custom_labels_build_or_buy_and_weakest_labels() -> None:
    assert pick.custom_labels(BOARD) == ["COMPANY", "TICKER"]
    # mean F1 on COMPANY and TICKER: bert-ft 0.825, crf 0.800, gliner 0.550 (only zero-shot and trained count)
    best = pick.best_for_custom_labels(BOARD)
    assert best.model == "bert-ft" and "82.5" in best.why
    # best trained 0.880 vs best ready-made 0.760 (aws): a 12-point gap, over the 10-point rule: build
    verdict = pick.build_or_buy(BOARD)
    assert verdict.model == "bert-ft" and "12.0" in verdict.why and "train your own" in verdict.why
    assert pick.weakest_labels(BOARD) == {"bert-ft": ("TICKER", 0.80), "crf": ("TICKER", 0.70),
                                          "gliner": ("TICKER", 0.50), "spacy-sm": ("COMPANY", 0.0),
                                          "aws": ("COMPANY", 0.0), "ibm": ("COMPANY", 0.0)}  # fmt: skip


def test_a_small_gap_says_buy_and_ibm_carries_its_end_of_support_note() -> None:
    close = Board("fin", BOARD.info, tuple(r for r in BOARD.rows if r.model in ("crf", "aws")))
    close = Board("fin", BOARD.info, (close.rows[0], Row(**{**close.rows[1].__dict__, "f1": 0.80})))
    verdict = pick.build_or_buy(close)
    assert verdict.model == "aws" and "buy" in verdict.why  # 0.875 - 0.80 = 7.5 points
    assert any("2027-07-31" in note for note in pick.notices([BOARD]))
    assert pick.notices([close]) == []
