"""The report's "Where models fail" section: F1 by bucket for every ranked model (small multiples with CI
bars and support), sentences for the largest gaps computed from the numbers, relaxed matching beside strict,
and each model's per-label depth. Reads only the stored buckets and metrics; scores nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nerbench.buckets import ATTRIBUTES, Bucket
from nerbench.reports.charts import _svg, _t
from nerbench.reports.model import Board, Row

MIN_GAP = 0.10  # a gap under 10 points between an attribute's buckets is not worth a sentence
COLOURS = ("#3a6ea5", "#e0a526", "#4c9f70", "#d6604d", "#9b6bc4", "#5b8fd6", "#9a9a9a", "#c77cae")


@dataclass(frozen=True)
class Gap:
    """The largest difference one attribute makes, on the model it hurts most, and the others on the same buckets."""

    attribute: str
    high: str
    low: str
    measure: str  # "recall" for span attributes (how many of those entities a model finds), "F1" for documents
    values: tuple[tuple[str, float | None, float | None], ...]  # (model, on high, on low), the widest gap first

    @property
    def width(self) -> float:
        _, high, low = self.values[0]
        return (high or 0.0) - (low or 0.0)


def _value(bucket: Bucket, measure: str) -> float | None:
    return bucket.recall if measure == "recall" else bucket.f1


def _by_value(row: Row, attribute: str) -> dict[str, Bucket]:
    return {b.value: b for b in row.cell.buckets if b.attribute == attribute}


def attribute_gap(rows: Sequence[Row], attribute: str) -> Gap | None:
    """The widest gap between two buckets of ``attribute`` with enough support, across the ranked models."""
    measure = "recall" if ATTRIBUTES[attribute][1] == "span" else "F1"
    best: tuple[float, str, str, str] | None = None
    for row in rows:
        scored = [(v, b.value) for b in row.cell.buckets if b.attribute == attribute and not b.thin
                  if (v := _value(b, measure)) is not None]  # fmt: skip
        if len(scored) < 2:
            continue
        (hi_v, hi), (lo_v, lo) = max(scored), min(scored)
        if best is None or hi_v - lo_v > best[0]:
            best = (hi_v - lo_v, row.model, hi, lo)
    if best is None or best[0] < MIN_GAP:
        return None
    _, worst, high, low = best
    ordered = sorted(rows, key=lambda r: r.model != worst)
    values = []
    for row in ordered:
        buckets = _by_value(row, attribute)
        if high in buckets and low in buckets:
            values.append((row.model, _value(buckets[high], measure), _value(buckets[low], measure)))
    return Gap(attribute, high, low, measure, tuple(values))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def sentence(gap: Gap) -> str:
    """'crf finds 86% of seen entities against 56% of unseen ones; spacy-sm 90% / 60%' (the numbers' own words)."""
    name = ATTRIBUTES[gap.attribute][0]
    (model, high, low), *rest = gap.values
    if gap.measure == "recall":
        head = f"{name}: {model} finds {_pct(high)} of entities {_where(gap.attribute, gap.high)} against " + (
            f"{_pct(low)} {_where(gap.attribute, gap.low)}"
        )  # fmt: skip
    else:
        head = f"{name}: {model} scores F1 {_pct(high)} on documents {_where(gap.attribute, gap.high)} against " + (
            f"{_pct(low)} {_where(gap.attribute, gap.low)}"
        )  # fmt: skip
    others = "; ".join(f"{m} {_pct(h)} / {_pct(lo)}" for m, h, lo in rest)
    return head + (f"; {others}" if others else "")


def _where(attribute: str, value: str) -> str:
    phrases = {
        "seen": {"seen": "seen in training", "unseen": "unseen in training"},
        "position": {"first sentence": "in the first sentence", "rest of the document": "in the rest"},
        "doc_caps": {"all caps": "in all caps", "not all caps": "not in all caps"},
    }
    if attribute in phrases:
        return phrases[attribute].get(value, value)
    if attribute == "label":
        return f"labelled {value}"
    if attribute == "capitalisation":
        return f"in {value}"
    unit = {
        "span_words": "words",
        "span_chars": "characters",
        "doc_words": "words",
        "density": "entities per 100 words",
    }
    noun = unit.get(attribute, "")
    if value == "1" and noun in ("words", "characters"):
        noun = noun[:-1]
    return f"of {value} {noun}".rstrip()


def gaps(board: Board, *, limit: int = 3) -> list[Gap]:
    """The attributes whose buckets differ most for some ranked model, widest first."""
    found = [g for attribute in ATTRIBUTES if (g := attribute_gap(board.ranked, attribute)) is not None]
    return sorted(found, key=lambda g: -g.width)[:limit]


def seen_note(board: Board) -> str | None:
    """Why there are no seen / unseen buckets, when there are none."""
    if any(b.attribute == "seen" for r in board.ranked for b in r.cell.buckets):
        return None
    return f"no seen / unseen buckets: dataset {board.dataset} has no train split to tell seen entities from new ones"


def _panel(ax: Axes, rows: Sequence[Row], attribute: str) -> None:
    """One attribute: grouped bars of F1 per bucket, one colour per model, CI whiskers, thin buckets faded."""
    values = list(dict.fromkeys(b.value for r in rows for b in r.cell.buckets if b.attribute == attribute))
    width = 0.8 / len(rows)
    for m, row in enumerate(rows):
        buckets = _by_value(row, attribute)
        found = [buckets.get(v) for v in values]
        f1s = [(b.f1 or 0.0) if b else 0.0 for b in found]
        cis = [(b.f1_ci or (f, f)) if b else (f, f) for b, f in zip(found, f1s, strict=True)]
        whiskers = [
            [f - ci[0] for f, ci in zip(f1s, cis, strict=True)],
            [ci[1] - f for f, ci in zip(f1s, cis, strict=True)],
        ]
        xs = [i + (m - (len(rows) - 1) / 2) * width for i in range(len(values))]
        bars = ax.bar(xs, f1s, width, yerr=whiskers, color=COLOURS[m % len(COLOURS)], capsize=1.5,
                      label=_t(row.model), error_kw={"elinewidth": 0.6})  # fmt: skip
        for bar, bucket in zip(bars, found, strict=True):
            if bucket is not None and bucket.thin:
                bar.set_alpha(0.35)
                bar.set_hatch("//")
    support = {v: max((b.gold for r in rows for b in r.cell.buckets if (b.attribute, b.value) == (attribute, v)),
                      default=0) for v in values}  # fmt: skip
    ax.set_xticks(range(len(values)), [_t(f"{v}\nn={support[v]}") for v in values], fontsize=6.5)
    ax.set_ylim(0, 1.05)
    ax.set_title(_t(ATTRIBUTES[attribute][0]), fontsize=8)
    ax.tick_params(axis="y", labelsize=7)


def bucket_chart(board: Board) -> str | None:
    """Small multiples: one panel per attribute, F1 per bucket for every ranked model, CI bars, support below."""
    rows = [r for r in board.ranked if r.cell.buckets]
    attributes = [a for a in ATTRIBUTES if any(b.attribute == a for r in rows for b in r.cell.buckets)]
    if not rows or not attributes:
        return None
    columns = 3
    lines = -(-len(attributes) // columns)

    def draw(fig: Figure) -> None:
        for k, attribute in enumerate(attributes):
            _panel(fig.add_subplot(lines, columns, k + 1), rows, attribute)
        fig.axes[0].legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.12), ncol=min(len(rows), 4))
        fig.text(0.01, 0.005, "F1 per bucket (95% CI bars); n = gold spans; faded, hatched: under 10 gold spans",
                 fontsize=7)  # fmt: skip

    return _svg(draw, (11.0, 2.4 * lines + 0.8))
