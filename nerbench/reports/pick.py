"""'Which to pick': answers computed from a run's numbers, never written by hand, and never resting on
less than the numbers can carry.

Only ranked cells (status ``done``) are candidates: a failed or schema-mismatch cell is never picked.
"Fastest" and "cheapest" choose among the models the paired bootstrap cannot separate from the most
accurate one (the ``≈`` set), and say how many that is; per-label verdicts need a minimum gold support;
a gold set too small to separate the models is said to be, with the size that would. A model's *kind*
(ready-made, trained on the team's data, zero-shot, rules) comes from whether it trained in this run
and from the ``kind`` its adapter declares, recorded in each cell.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nerbench.reports.model import Board, Row

READY_MADE, TRAINED, ZERO_SHOT, RULES = "ready-made", "trained on your data", "zero-shot", "rules"
# Labels that pretrained NER models ship with (CoNLL-2003, OntoNotes 5, the cloud APIs' common types);
# any other gold label is one "no pretrained model knows".
STANDARD_LABELS = frozenset(
    {
        "PER", "PERSON", "ORG", "ORGANIZATION", "LOC", "LOCATION", "GPE", "MISC", "NORP", "FAC", "FACILITY",
        "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY",
        "ORDINAL", "CARDINAL",
    }
)  # fmt: skip
Measure = Callable[[Row], "float | None"]
Shown = Callable[[float], str]
MIN_SUPPORT = 10  # gold spans a label needs before a per-label verdict is given
WIDE_CI = 0.03  # a 95% CI half-width above 3 F1 points cannot separate models closer than that
TARGET_HALF_WIDTH = 0.02  # the half-width the sample-size note aims for
NEGLIGIBLE = 0.01  # local compute under 1% of the cheapest API price per document is negligible next to it


def kind_of(row: Row) -> str:
    """The model's kind: trained when it trained on the suite's train split, else what its adapter
    declares (``kind``: rules, zero-shot), else a ready-made (pretrained or managed) model."""
    if row.cell.trained:
        return TRAINED
    return row.cell.kind or READY_MADE


def shown_kind(row: Row) -> str:
    """The kind as the report shows it: the adapter's own word for it when it has one
    (``describe.kind``, e.g. "fine-tuned encoder") and the architecture its model config
    names (``describe.architecture``: BERT, RoBERTa, DistilBERT, ...)."""
    kind = row.cell.describe.get("kind") or kind_of(row)
    architecture = row.cell.describe.get("architecture")
    return f"{kind}, {architecture}" if architecture else kind


@dataclass(frozen=True)
class Pick:
    """One answer: the question, the dataset, the model it names (None: no candidate), and why."""

    question: str
    dataset: str
    model: str | None
    why: str


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _names(rows: Sequence[Row]) -> str:
    return ", ".join(r.model for r in rows)


def tied_set(board: Board) -> list[Row]:
    """The most accurate model and every ranked model the paired bootstrap cannot separate from it."""
    best = board.best
    return [] if best is None else [best, *(r for r in board.ranked[1:] if r.tied)]


def _tested(board: Board) -> bool:
    """True when the paired bootstrap ran against the leader (some resamples, comparable documents)."""
    return any(r.vs_best is not None for r in board.ranked[1:])


def most_accurate(board: Board) -> Pick:
    best = board.best
    if best is None:
        return Pick("Most accurate", board.dataset, None, "no model produced a result on this dataset")
    why = f"F1 {_pct(best.f1)}"
    ties = tied_set(board)[1:]
    if ties:
        why += f"; not significantly better than {_names(ties)} (paired bootstrap, p ≥ 0.05)"
    elif len(board.ranked) > 1 and not _tested(board):
        why += "; no paired test was possible (bootstrap off, or other documents), so ties are unknown"
    return Pick("Most accurate", board.dataset, best.model, why)


def _cost_value(row: Row) -> float | None:
    return row.cell.cost.usd_per_1k_docs if row.cell.cost else None


def _p95(row: Row) -> float | None:
    return row.cell.latency.p95_ms


def fastest(board: Board) -> Pick:
    """The lowest p95 latency among the models tied with the most accurate."""
    return _among_ties(board, "Fastest", _p95, lambda v: f"{v:.1f} ms p95")


def cheapest(board: Board) -> Pick:
    """The lowest cost per 1k documents among the models tied with the most accurate, like with like."""
    pick = _among_ties(board, "Cheapest", _cost_value, _usd)
    note = cost_basis_note(board, pick.model)
    return Pick(pick.question, pick.dataset, pick.model, f"{pick.why}; {note}" if note else pick.why)


def _usd(value: float) -> str:
    return f"${value:.2g} per 1k documents"


def _measured(rows: Sequence[Row], measure: Measure) -> list[tuple[Row, float]]:
    return [(r, v) for r in rows if (v := measure(r)) is not None]


def _among_ties(board: Board, question: str, measure: Measure, shown: Shown) -> Pick:
    best = board.best
    if best is None:
        return Pick(question, board.dataset, None, "no model produced a result on this dataset")
    ties = _measured(tied_set(board), measure)
    if not ties:
        return Pick(question, board.dataset, None, "not measured for the most accurate model or its ties")
    pick, value = min(ties, key=lambda rv: (rv[1], -(rv[0].f1 or 0.0)))
    if len(ties) > 1:
        why = (
            f"{shown(value)}, F1 {_pct(pick.f1)}: the {question.lower()} of the {len(ties)} models "
            f"not significantly worse than the most accurate ({_names([r for r, _ in ties])})"
        )
        return Pick(question, board.dataset, pick.model, why)
    return Pick(question, board.dataset, best.model, _gap_price(board, question, measure, shown))


def _gap_price(board: Board, question: str, measure: Measure, shown: Shown) -> str:
    """With no tie: the most accurate model's own figure, and what the best on this axis gives up in F1."""
    best = board.best
    own = measure(best) if best is not None else None
    assert best is not None and own is not None
    head = f"{shown(own)}, F1 {_pct(best.f1)}"
    head += (
        ": no other model is statistically tied with it" if _tested(board) else ": no paired test, so it is named alone"
    )
    others = [(r, v) for r, v in _measured(board.ranked, measure) if v < own]
    if not others:
        return head + f", and it is also the {question.lower()} model measured"
    alt, value = min(others, key=lambda rv: (rv[1], -(rv[0].f1 or 0.0)))
    gap = (best.f1 or 0.0) - (alt.f1 or 0.0)
    test = board.compare(best, alt)
    ci = f" (95% CI {_pct(test.ci[0])}–{_pct(test.ci[1])})" if test else ""
    return head + f"; the {question.lower()}, {alt.model} ({shown(value)}), gives up {_pct(gap)} F1 points{ci}"


def cost_basis_note(board: Board, picked: str | None) -> str:
    """How the compared costs were priced, when they are not alike (local compute next to API prices)."""
    rows = [r for r in board.ranked if r.cell.cost is not None]
    local = [r for r in rows if r.cell.cost and r.cell.cost.basis == "compute"]
    paid = [r for r in rows if r.cell.cost and r.cell.cost.basis != "compute"]
    if not local:
        return ""
    rate = next((r.cell.cost.usd_per_hour for r in local if r.cell.cost and r.cell.cost.usd_per_hour), None)
    rate_text = f"${rate:g}/hour" if rate is not None else "the instance price"
    if not paid:
        return f"all models ran locally: cost is compute time at {rate_text}, so it ranks like throughput"
    cheapest_paid = min((_cost_value(r) or math.inf) for r in paid)
    dearest_local = max((_cost_value(r) or 0.0) for r in local)
    if dearest_local < NEGLIGIBLE * cheapest_paid:
        return (
            f"local models cost compute time at {rate_text}, negligible next to the cheapest API's "
            f"{_usd(cheapest_paid)}"
        )
    return f"local models are priced as compute time at {rate_text}, APIs at their list price"


def custom_labels(board: Board) -> list[str]:
    """The board's gold labels that no pretrained model ships with."""
    return [label for label in board_labels(board) if label.upper() not in STANDARD_LABELS]


def board_labels(board: Board) -> list[str]:
    """The dataset's gold labels (as the run read them), else every label a ranked model was scored on."""
    if board.info.labels:
        return list(board.info.labels)
    return sorted({k for r in board.ranked if r.cell.metrics for k in r.cell.metrics.per_label})


def support(board: Board, label: str) -> int:
    """Gold spans of ``label`` on this board (the same for every model: it is the gold)."""
    for r in board.rows:
        scores = r.cell.metrics.per_label.get(label) if r.cell.metrics else None
        if scores is not None:
            return scores.support
    return 0


def best_for_custom_labels(board: Board) -> Pick:
    """Among zero-shot and trained models: the best mean F1 over the labels no pretrained model knows."""
    question = "Best for labels no pretrained model knows"
    labels = [label for label in custom_labels(board) if support(board, label) >= MIN_SUPPORT]
    thin = [label for label in custom_labels(board) if support(board, label) < MIN_SUPPORT]
    if not labels:
        why = "every label is a standard one" if not thin else (
            f"{', '.join(thin)} have fewer than {MIN_SUPPORT} gold spans each: too few for a verdict"
        )  # fmt: skip
        return Pick(question, board.dataset, None, why)
    scores = {}
    for r in board.ranked:
        if kind_of(r) in (ZERO_SHOT, TRAINED) and r.cell.metrics is not None:
            per = r.cell.metrics.per_label
            scores[r.model] = sum((per[label].f1 or 0.0) if label in per else 0.0 for label in labels) / len(labels)
    if not scores:
        return Pick(question, board.dataset, None, "no zero-shot or trained model produced a result")
    model = max(scores, key=lambda m: scores[m])
    shown = ", ".join(f"{label} (n={support(board, label)})" for label in labels)
    why = f"mean F1 {_pct(scores[model])} on {shown}"
    if thin:
        why += f"; {', '.join(thin)} left out (under {MIN_SUPPORT} gold spans)"
    return Pick(question, board.dataset, model, why)


def build_or_buy(board: Board) -> Pick:
    """The measured gap between the best model trained on the team's data and the best ready-made model."""
    question = "Build or buy"
    ready = next((r for r in board.ranked if kind_of(r) == READY_MADE), None)
    trained = next((r for r in board.ranked if kind_of(r) == TRAINED), None)
    if ready is None or trained is None:
        missing = "ready-made" if ready is None else "trained"
        return Pick(question, board.dataset, None, f"no {missing} model in this run to compare")
    gap = (trained.f1 or 0.0) - (ready.f1 or 0.0)
    head = f"{trained.model} (trained) {_pct(trained.f1)} vs {ready.model} (ready-made) {_pct(ready.f1)}"
    test = board.compare(trained, ready)
    if test is None:
        return Pick(question, board.dataset, None, f"{head}: gap {_pct(gap)} points, untested (no paired bootstrap)")
    ci = f"gap {_pct(gap)} points (95% CI {_pct(test.ci[0])} to {_pct(test.ci[1])})"
    if not test.significant():
        return Pick(question, board.dataset, ready.model,
                    f"{head}: {ci}, not significant: the ready-made model saves the training")  # fmt: skip
    winner = trained if gap > 0 else ready
    verdict = "training on your data pays off" if gap > 0 else "the ready-made model is better"
    return Pick(question, board.dataset, winner.model, f"{head}: {ci}, significant: {verdict}")


def weakest_labels(board: Board) -> dict[str, tuple[str, float, int]]:
    """Each ranked model's label with the lowest F1 among labels with at least MIN_SUPPORT gold spans."""
    out = {}
    for r in board.ranked:
        per = r.cell.metrics.per_label if r.cell.metrics else {}
        scored = [(label, s.f1, s.support) for label, s in per.items() if s.f1 is not None and s.support >= MIN_SUPPORT]
        if scored:
            label, f1, n = min(scored, key=lambda x: (x[1], x[0]))
            out[r.model] = (label, f1, n)
    return out


def thin_labels(board: Board) -> list[tuple[str, int]]:
    """Gold labels with fewer than MIN_SUPPORT spans: shown, never a verdict."""
    return [(label, n) for label in board_labels(board) if (n := support(board, label)) < MIN_SUPPORT]


def notes(board: Board) -> list[str]:
    """What a reader must know before trusting the board: sample size, train overlap, thin labels, non-results."""
    out = []
    sample = small_sample_note(board)
    if sample:
        out.append(sample)
    for r in board.ranked:
        overlap = r.cell.train_overlap
        if overlap is not None and overlap.entities:
            out.append(
                f"{r.model} learned from the train split of {overlap.split}: {overlap.seen} of {overlap.entities} "
                f"test entities ({_pct(overlap.share)}%) occur there with the same label, which flatters its F1"
            )
    thin = thin_labels(board)
    if thin:
        shown = ", ".join(f"{label} ({n})" for label, n in thin)
        out.append(f"labels with fewer than {MIN_SUPPORT} gold spans get no per-label verdict: {shown}")
    for r in board.unranked:
        out.append(f"{r.model} is not ranked ({r.cell.status}): {r.cell.reason or 'no reason recorded'}")
    return out


def small_sample_note(board: Board) -> str | None:
    """When the best model's 95% CI is wider than ±3 points: the gold set cannot separate models closer
    than that; the documents that would narrow it to ±2 points (the CI shrinks as 1/sqrt(documents))."""
    best = board.best
    ci = best.cell.metrics.f1_ci if best and best.cell.metrics else None
    documents = best.cell.metrics.documents if best and best.cell.metrics else 0
    if best is None or ci is None or not documents:
        return None
    half = (ci[1] - ci[0]) / 2
    if half <= WIDE_CI:
        return None
    needed = math.ceil(documents * (half / TARGET_HALF_WIDTH) ** 2)
    return (
        f"the gold set is small: {best.model}'s F1 95% CI is ±{_pct(half)} points on {documents} documents, "
        f"too wide to separate models closer than that; about {needed:,} documents would narrow it to "
        f"±{_pct(TARGET_HALF_WIDTH)}"
    )


def picks(board: Board) -> list[Pick]:
    """Every 'which to pick' answer for one dataset."""
    return [most_accurate(board), fastest(board), cheapest(board), best_for_custom_labels(board), build_or_buy(board)]


def notices(boards: Sequence[Board]) -> list[str]:
    """What the adapters of the run's models say users must know (e.g. a service's end of support), once each."""
    seen = {f"{r.cell.adapter}: {r.cell.notice}": None for b in boards for r in b.rows if r.cell.notice}
    return list(seen)
