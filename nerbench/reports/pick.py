"""'Which to pick': answers computed from a run's numbers, never written by hand.

A model's *kind* (ready-made, trained on the team's data, zero-shot, rules) comes from whether it
trained in this run and from the ``kind`` its adapter declares, recorded in each cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nerbench.reports.model import Board, Row

READY_MADE, TRAINED, ZERO_SHOT, RULES = "ready-made", "trained on your data", "zero-shot", "rules"
# Labels that pretrained NER models ship with (CoNLL-2003, OntoNotes 5, the cloud APIs' common types);
# any other gold label is one "no pretrained model knows".
STANDARD_LABELS = frozenset(
    {
        "PER",
        "PERSON",
        "ORG",
        "ORGANIZATION",
        "LOC",
        "LOCATION",
        "GPE",
        "MISC",
        "NORP",
        "FAC",
        "FACILITY",
        "EVENT",
        "PRODUCT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
        "DATE",
        "TIME",
        "PERCENT",
        "MONEY",
        "QUANTITY",
        "ORDINAL",
        "CARDINAL",
    }
)
POINT = 0.01  # one F1 point
BUILD_THRESHOLD = 0.10  # rule of thumb: training your own pays off when ready-made models trail by > 10 points


def kind_of(row: Row) -> str:
    """The model's kind: trained when it trained on the suite's train split, else what its adapter
    declares (``kind``: rules, zero-shot), else a ready-made (pretrained or managed) model."""
    if row.fit_s is not None:
        return TRAINED
    return row.kind or READY_MADE


def shown_kind(row: Row) -> str:
    """The kind as the report shows it: the adapter's own word for it when it has one
    (``describe.kind``, e.g. "fine-tuned encoder") and the architecture its model config
    names (``describe.architecture``: BERT, RoBERTa, DistilBERT, ...)."""
    kind = row.describe.get("kind") or kind_of(row)
    architecture = row.describe.get("architecture")
    return f"{kind}, {architecture}" if architecture else kind


@dataclass(frozen=True)
class Pick:
    """One answer: the question, the dataset, the model it names (None: no candidate), and why."""

    question: str
    dataset: str
    model: str | None
    why: str


def _scored(board: Board) -> list[Row]:
    return [r for r in board.rows if r.status == "done" and r.f1 is not None]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _best(rows: Sequence[Row]) -> Row | None:
    return max(rows, key=lambda r: r.f1 or 0.0, default=None)


def _within_point(board: Board) -> tuple[Row | None, list[Row]]:
    rows = _scored(board)
    best = _best(rows)
    near = [r for r in rows if best is not None and (r.f1 or 0.0) >= (best.f1 or 0.0) - POINT - 1e-12]
    return best, near


def most_accurate(board: Board) -> Pick:
    best = _best(_scored(board))
    why = f"F1 {_pct(best.f1 or 0.0)}" if best else "no model finished"
    if best and best.vs_best is None and len(_scored(board)) > 1:
        ties = [r.model for r in _scored(board)[1:] if r.vs_best is not None and not r.vs_best.significant()]
        why += f"; not significantly better than {', '.join(ties)}" if ties else ""
    return Pick("Most accurate", board.dataset, best.model if best else None, why)


def _minimise(board: Board, question: str, attr: str, unit: str) -> Pick:
    best, near = _within_point(board)
    measured = [r for r in near if getattr(r, attr) is not None]
    pick = min(measured, key=lambda r: (getattr(r, attr), -(r.f1 or 0.0)), default=None)
    if pick is None or best is None:
        return Pick(question, board.dataset, None, "nothing measured")
    why = f"{getattr(pick, attr):.4g} {unit}, F1 {_pct(pick.f1 or 0.0)} (best {_pct(best.f1 or 0.0)})"
    return Pick(question, board.dataset, pick.model, why)


def fastest_within_a_point(board: Board) -> Pick:
    return _minimise(board, "Fastest within 1 F1 point of the best", "p95_ms", "ms p95")


def cheapest_within_a_point(board: Board) -> Pick:
    return _minimise(board, "Cheapest within 1 F1 point of the best", "usd_per_1k", "USD per 1k documents")


def custom_labels(board: Board) -> list[str]:
    """The board's gold labels that no pretrained model ships with."""
    labels = board.info.get("labels") or sorted({label for r in board.rows for label in r.per_label})
    return [label for label in labels if label.upper() not in STANDARD_LABELS]


def best_for_custom_labels(board: Board) -> Pick:
    """Among zero-shot and trained models: the best mean F1 over the labels no pretrained model knows."""
    question = "Best for labels no pretrained model knows"
    labels = custom_labels(board)
    if not labels:
        return Pick(question, board.dataset, None, "every label is a standard one")
    scores = {
        r.model: sum(r.per_label.get(label) or 0.0 for label in labels) / len(labels)
        for r in _scored(board)
        if kind_of(r) in (ZERO_SHOT, TRAINED)
    }
    if not scores:
        return Pick(question, board.dataset, None, "no zero-shot or trained model ran")
    model = max(scores, key=lambda m: scores[m])
    return Pick(question, board.dataset, model, f"mean F1 {_pct(scores[model])} on {', '.join(labels)}")


def build_or_buy(board: Board) -> Pick:
    """The gap between the best model trained on the team's data and the best ready-made model."""
    question = "Build or buy"
    rows = _scored(board)
    ready = _best([r for r in rows if kind_of(r) == READY_MADE])
    trained = _best([r for r in rows if kind_of(r) == TRAINED])
    if ready is None or trained is None:
        missing = "ready-made" if ready is None else "trained"
        return Pick(question, board.dataset, None, f"no {missing} model in this run to compare")
    gap = (trained.f1 or 0.0) - (ready.f1 or 0.0)
    verdict = "train your own" if gap > BUILD_THRESHOLD else "buy (ready-made is close enough)"
    why = (
        f"{trained.model} (trained) {_pct(trained.f1 or 0.0)} vs {ready.model} (ready-made) "
        f"{_pct(ready.f1 or 0.0)}: gap {_pct(gap)} points against the 10-point rule of thumb: {verdict}"
    )
    return Pick(question, board.dataset, trained.model if gap > BUILD_THRESHOLD else ready.model, why)


def weakest_labels(board: Board) -> dict[str, tuple[str, float]]:
    """Each model's label with the lowest F1 on this board."""
    out = {}
    for r in _scored(board):
        scored = [(label, f1) for label, f1 in r.per_label.items() if f1 is not None]
        if scored:
            out[r.model] = min(scored, key=lambda x: (x[1], x[0]))
    return out


def picks(board: Board) -> list[Pick]:
    """Every 'which to pick' answer for one dataset."""
    return [
        most_accurate(board),
        fastest_within_a_point(board),
        cheapest_within_a_point(board),
        best_for_custom_labels(board),
        build_or_buy(board),
    ]


def notices(boards: Sequence[Board]) -> list[str]:
    """What the adapters of the run's models say users must know (e.g. a service's end of support), once each."""
    seen = {f"{r.adapter}: {r.notice}": None for b in boards for r in b.rows if r.notice}
    return list(seen)
