"""'Which to pick' on small fixed result tables, against answers worked out by hand.

Cells carry real per-document counts, so the ties are the paired bootstrap's own verdicts: "tied"
models differ from the leader on two documents out of 200, "worse" ones on every document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from nerbench.evaluation import LabelMetrics, Metrics
from nerbench.harness.cell_result import (
    DONE,
    FAILED,
    SCHEMA_MISMATCH,
    CellCost,
    CellResult,
    Latency,
    TrainOverlap,
)
from nerbench.harness.results import DatasetInfo, Details
from nerbench.reports import pick
from nerbench.reports.model import Board, build_boards
from nerbench.reports.sample import sample_of

DOCS = 200
GOLD_PER_DOC = 5


def per_doc(correct: Sequence[int]) -> tuple[tuple[int, int, int], ...]:
    """Per-document (correct, scored predictions, gold): every model predicts exactly the gold count."""
    return tuple((c, GOLD_PER_DOC, GOLD_PER_DOC) for c in correct)


LEADER = [5] * 180 + [4] * 20  # F1 0.980
TIED = [5] * 178 + [4] * 22  # F1 0.978: two documents worse, not significant
WORSE = [4] * 200  # F1 0.800: significantly worse
MUCH_WORSE = [3] * 200  # F1 0.600


def cell(
    model: str,
    correct: Sequence[int],
    *,
    p95: float = 10.0,
    usd: float = 0.01,
    basis: str = "compute",
    labels: Mapping[str, tuple[float, int]] | None = None,
    fit_s: float | None = None,
    kind: str = "",
    status: str = DONE,
    reason: str | None = None,
    ci: tuple[float, float] | None = None,
    overlap: TrainOverlap | None = None,
) -> tuple[CellResult, Details]:
    rows = per_doc(correct)
    hit, predicted, gold = (sum(r[i] for r in rows) for i in range(3))
    f1 = 2 * hit / (predicted + gold)
    per_label = {k: LabelMetrics(None, None, f, n, n, 0) for k, (f, n) in (labels or {}).items()}
    metrics = Metrics(
        precision=hit / predicted, recall=hit / gold, f1=f1, f1_ci=ci or (f1 - 0.01, f1 + 0.01),
        macro_precision=None, macro_recall=None, macro_f1=None, per_label=per_label,
        counts={"gold": gold, "predicted": predicted, "correct": hit, "out_of_schema": 0, "ignored": 0},
        schema_error_rate=0.0, boundary_error_rate=0.0, invalid_rate=0.0, gold_breakdown={}, semeval={},
        repairs=0, documents=len(rows),
    )  # fmt: skip
    result = CellResult(
        model=model, dataset="fin", status=status, reason=reason, adapter=model, kind=kind, metrics=metrics,
        latency=Latency(p95_ms=p95, fit_s=fit_s),
        cost=CellCost(usd_per_1k_docs=usd, basis=basis, usd_per_hour=0.0893 if basis == "compute" else None),
        train_overlap=overlap,
    )  # fmt: skip
    details = Details(tuple(f"d{i}" for i in range(len(rows))), rows, ())
    return result, details


def board(*cells: tuple[CellResult, Details], labels: Sequence[str] = ("COMPANY", "MONEY", "TICKER")) -> Board:
    info = DatasetInfo("fin", labels=tuple(labels))
    (only,) = build_boards(
        [info], [c for c, _ in cells], {(c.model, "fin"): sample_of(d) for c, d in cells}, resamples=1000
    )  # fmt: skip
    return only


def test_kinds_come_from_the_adapter_and_training() -> None:
    b = board(
        cell("bert-ft", LEADER, fit_s=90.0), cell("gliner", TIED, kind="zero-shot"), cell("spacy", WORSE),
        cell("broken", LEADER, kind="zero-shot", status=FAILED, reason="every document failed"),
    )  # fmt: skip
    kinds = {r.model: pick.kind_of(r) for r in b.rows}
    assert kinds == {"bert-ft": pick.TRAINED, "gliner": pick.ZERO_SHOT, "spacy": pick.READY_MADE,
                     "broken": pick.ZERO_SHOT}  # fmt: skip


def test_the_shown_kind_names_a_fine_tuned_encoder_and_its_architecture() -> None:
    finetuned, _ = cell("minilm", LEADER, fit_s=60.0)
    b = board(
        (CellResult(**{**finetuned.__dict__, "describe": {"kind": "fine-tuned encoder", "architecture": "BERT"}}), _),
    )
    assert pick.shown_kind(b.rows[0]) == "fine-tuned encoder, BERT"
    assert pick.kind_of(b.rows[0]) == pick.TRAINED  # build-or-buy still counts it as trained on your data


def test_ties_are_the_paired_bootstrap_s_and_fastest_and_cheapest_choose_among_them() -> None:
    b = board(
        cell("bert-ft", LEADER, p95=40.0, usd=0.02),
        cell("crf", TIED, p95=2.0, usd=0.002),
        cell("gliner", TIED, p95=30.0, usd=0.001),
        cell("spacy", WORSE, p95=1.0, usd=0.0001),  # fastest and cheapest of all, but significantly worse
    )
    assert [r.model for r in b.ranked if r.tied] == ["crf", "gliner"]
    assert "spacy" not in [r.model for r in pick.tied_set(b)]
    best = pick.most_accurate(b)
    assert best.model == "bert-ft" and "not significantly better than crf, gliner" in best.why
    fastest = pick.fastest(b)
    assert fastest.model == "crf" and "of the 3 models not significantly worse" in fastest.why
    cheapest = pick.cheapest(b)
    assert cheapest.model == "gliner" and "3 models" in cheapest.why
    assert "all models ran locally" in cheapest.why  # like with like: compute time only


def test_with_no_tie_the_best_is_named_with_the_price_of_the_gap() -> None:
    b = board(cell("bert-ft", LEADER, p95=40.0), cell("crf", WORSE, p95=2.0), cell("rules", MUCH_WORSE, p95=0.5))
    assert not any(r.tied for r in b.rows)
    fastest = pick.fastest(b)
    assert fastest.model == "bert-ft"
    assert "no other model is statistically tied" in fastest.why
    # the fastest overall, rules at 0.5 ms, gives up 98.0 - 60.0 = 38.0 points, with its paired CI
    assert "rules (0.5 ms p95), gives up 38.0 F1 points (95% CI" in fastest.why


def test_a_failed_or_mismatched_cell_is_never_ranked_or_picked() -> None:
    b = board(
        cell("crf", WORSE, p95=2.0),
        cell("comprehend", LEADER, p95=0.5, usd=0.0, status=FAILED, reason="every document failed (credentials)"),
        cell("spacy", LEADER, p95=0.1, status=SCHEMA_MISMATCH, reason="210 of 230 predictions carry labels..."),
    )
    assert [r.model for r in b.ranked] == ["crf"]
    assert {r.model for r in b.unranked} == {"comprehend", "spacy"}
    for answer in pick.picks(b):
        assert answer.model in (None, "crf"), answer
    assert pick.weakest_labels(b).keys() <= {"crf"}
    notes = pick.notes(b)
    assert any("comprehend is not ranked (failed): every document failed (credentials)" in n for n in notes)
    assert any(n.startswith("spacy is not ranked (schema-mismatch)") for n in notes)
    empty = board(cell("broken", LEADER, status=FAILED, reason="connection refused"))
    assert pick.most_accurate(empty).model is None and empty.best is None


def test_per_label_verdicts_need_a_minimum_support() -> None:
    labels = {"COMPANY": (0.90, 40), "TICKER": (0.20, 2), "MONEY": (0.60, 25)}
    b = board(cell("crf", LEADER, labels=labels, fit_s=3.0), cell("spacy", WORSE, labels=labels))
    # TICKER has the lowest F1 but only 2 gold spans: no verdict on it
    assert pick.weakest_labels(b) == {"crf": ("MONEY", 0.60, 25), "spacy": ("MONEY", 0.60, 25)}
    assert pick.thin_labels(b) == [("TICKER", 2)]
    assert any("fewer than 10 gold spans" in n and "TICKER (2)" in n for n in pick.notes(b))
    custom = pick.best_for_custom_labels(b)  # COMPANY counts, TICKER is left out
    assert custom.model == "crf" and "COMPANY (n=40)" in custom.why and "TICKER left out" in custom.why


def test_a_small_gold_set_is_said_to_be_too_small_with_the_size_that_would_do() -> None:
    wide = board(cell("crf", LEADER, ci=(0.91, 1.0)))  # half-width 4.5 points on 200 documents
    (note,) = [n for n in pick.notes(wide) if "gold set is small" in n]
    # 200 x (0.045 / 0.02)^2 = 1012.5 -> 1,013 documents for +-2 points
    assert "±4.5 points on 200 documents" in note and "about 1,013 documents" in note
    narrow = board(cell("crf", LEADER, ci=(0.97, 0.99)))
    assert not any("gold set is small" in n for n in pick.notes(narrow))


def test_a_trained_model_carries_the_share_of_test_entities_it_saw_in_training() -> None:
    b = board(cell("crf", LEADER, fit_s=3.0, overlap=TrainOverlap("news", 50, 161)))
    assert any("50 of 161 test entities (31.1%)" in n and "train split of news" in n for n in pick.notes(b))


def test_build_or_buy_is_the_measured_gap_with_its_confidence_interval() -> None:
    build = board(cell("crf", LEADER, fit_s=3.0), cell("spacy", WORSE))
    verdict = pick.build_or_buy(build)
    assert verdict.model == "crf" and "gap 18.0 points (95% CI" in verdict.why and "significant" in verdict.why
    assert "rule of thumb" not in verdict.why
    close = board(cell("crf", TIED, fit_s=3.0), cell("spacy", LEADER))
    verdict = pick.build_or_buy(close)
    assert verdict.model == "spacy" and "not significant" in verdict.why


def test_local_compute_is_called_negligible_next_to_an_api_price() -> None:
    b = board(
        cell("aws", LEADER, usd=1.0, basis="billing"),
        cell("crf", TIED, usd=6.4e-06),
    )
    cheapest = pick.cheapest(b)
    assert cheapest.model == "crf"
    assert "negligible next to the cheapest API's $1 per 1k documents" in cheapest.why


@pytest.mark.parametrize("tied", [True, False])
def test_the_tie_legend_appears_only_when_some_model_carries_the_mark(tied: bool) -> None:
    from nerbench.reports.markdown import _board

    b = board(cell("a", LEADER), cell("b", TIED if tied else MUCH_WORSE))
    text = "\n".join(_board(b))
    assert ("≈ not significantly different" in text) == tied
    assert b.any_tie == tied


def test_notices_once_per_adapter() -> None:
    ibm, d = cell("ibm", LEADER)
    ibm = CellResult(**{**ibm.__dict__, "adapter": "ibm-nlu", "notice": "end of support on 2027-07-31"})
    b = board((ibm, d), cell("crf", WORSE))
    assert pick.notices([b, b]) == ["ibm-nlu: end of support on 2027-07-31"]
