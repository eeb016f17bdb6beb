"""Gold file + prediction file -> paired documents -> scores -> the metrics JSON.

The one place that turns a :class:`~nerbench.scoring.Score` into the JSON shape
``nerbench score --json`` prints and every run stores, so the numbers mean the
same thing everywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nerbench.adapters.data import read_corpus
from nerbench.buckets import Bucket, compute_buckets
from nerbench.errors import InputError
from nerbench.evaluation_stream import NotStreamable, score_streamed
from nerbench.labels import LabelMap, fitting_maps, outside
from nerbench.scoring import SCORER_VERSION, Score, SemEvalCounts, bootstrap_ci, score
from nerbench.train_overlap import entity_keys
from nerbench.types import Document, Span
from nerbench.views import Relaxed, label_semeval, relaxed_view


def pair_predictions(
    gold: Sequence[Document], predicted: Sequence[Document], *, pred_path: Path | None = None
) -> list[tuple[Span, ...]]:
    """Each gold document's predicted spans: paired by id when the ids agree, else by order.

    A predicted document whose text differs from its gold document is an error naming it.
    """
    gold_ids = [d.id for d in gold]
    by_id = {d.id: d for d in predicted}
    if len(by_id) == len(predicted) and len(set(gold_ids)) == len(gold) and set(by_id) == set(gold_ids):
        pairs = [(g, by_id[g.id]) for g in gold]
    elif len(predicted) == len(gold):
        pairs = list(zip(gold, predicted, strict=True))
    else:
        missing = sorted(set(gold_ids) - set(by_id))[:3]
        raise InputError(
            f"documents do not pair up: {len(gold)} gold, {len(predicted)} predicted, and the ids differ "
            f"(gold ids missing from the predictions: {', '.join(missing) or 'none'})",
            path=pred_path,
        )
    for g, p in pairs:
        if g.text != p.text:
            where = _first_difference(g.text, p.text)
            raise InputError(
                f"document {p.id!r} pairs with gold {g.id!r} but its text differs at character {where}: "
                "predictions must be over the same texts as the gold",
                path=pred_path,
            )
    return [p.spans for _, p in pairs]


def _first_difference(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class ViewMetrics:
    """One SemEval-2013 view (strict, exact, partial, type) with nervaluate's counts."""

    correct: int
    incorrect: int
    partial: int
    missed: int
    spurious: int
    precision: float | None
    recall: float | None
    f1: float | None

    @classmethod
    def of(cls, v: SemEvalCounts) -> ViewMetrics:
        return cls(v.correct, v.incorrect, v.partial, v.missed, v.spurious, v.precision, v.recall, v.f1)


@dataclass(frozen=True)
class LabelMetrics:
    """Strict scores of one label: seqeval's per-type row, with its counts, its F1 CI and its SemEval views."""

    precision: float | None
    recall: float | None
    f1: float | None
    support: int
    predicted: int
    correct: int
    f1_ci: tuple[float, float] | None = None
    semeval: Mapping[str, ViewMetrics] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support,
            "predicted": self.predicted, "correct": self.correct, "f1_ci": list(self.f1_ci) if self.f1_ci else None,
            "semeval": {view: asdict(v) for view, v in self.semeval.items()},
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelMetrics:
        ci = data.get("f1_ci")
        return cls(
            _float(data.get("precision")), _float(data.get("recall")), _float(data.get("f1")),
            int(data.get("support") or 0), int(data.get("predicted") or 0), int(data.get("correct") or 0),
            (float(ci[0]), float(ci[1])) if ci else None,
            {str(k): ViewMetrics(**v) for k, v in (data.get("semeval") or {}).items()},
        )  # fmt: skip


@dataclass(frozen=True)
class RelaxedMetrics:
    """Relaxed matching beside strict: a same-label prediction overlapping its gold span enough is correct."""

    min_overlap: float
    measure: str
    by_label: Mapping[str, float]
    correct: int
    precision: float | None
    recall: float | None
    f1: float | None

    @classmethod
    def of(cls, view: Relaxed) -> RelaxedMetrics:
        return cls(view.min_overlap, view.measure, dict(view.by_label), view.correct, view.precision, view.recall,
                   view.f1)  # fmt: skip


@dataclass(frozen=True)
class Metrics:
    """Everything ``nerbench score`` reports about one prediction set; its JSON form is ``score --json``'s."""

    precision: float | None
    recall: float | None
    f1: float | None
    f1_ci: tuple[float, float] | None
    macro_precision: float | None
    macro_recall: float | None
    macro_f1: float | None
    per_label: Mapping[str, LabelMetrics]
    counts: Mapping[str, int]
    schema_error_rate: float | None
    boundary_error_rate: float | None
    invalid_rate: float | None
    gold_breakdown: Mapping[str, float | None]
    semeval: Mapping[str, ViewMetrics]
    repairs: int
    documents: int
    scorer_version: int = SCORER_VERSION
    relaxed: RelaxedMetrics | None = None

    @property
    def raw_predictions(self) -> int:
        """Every span the model returned: scored ones plus those the label map ignored on purpose."""
        return int(self.counts.get("predicted", 0)) + int(self.counts.get("ignored", 0))

    @classmethod
    def from_score(
        cls,
        result: Score,
        *,
        f1_ci: tuple[float, float] | None = None,
        repairs: int = 0,
        documents: int | None = None,
        label_cis: Mapping[str, tuple[float, float] | None] | None = None,
        relaxed: Relaxed | None = None,
        label_views: Mapping[str, Mapping[str, SemEvalCounts]] | None = None,
    ) -> Metrics:
        """The metrics of a score; ``label_cis`` (each label's F1 CI, from its label bucket) and ``relaxed``
        (the relaxed-matching view) where they were computed."""
        c = result.counts
        macro = result.macro
        views = label_semeval(result) if label_views is None else label_views
        return cls(
            precision=c.precision, recall=c.recall, f1=c.f1, f1_ci=f1_ci,
            macro_precision=macro["precision"], macro_recall=macro["recall"], macro_f1=macro["f1"],
            per_label={
                label: LabelMetrics(
                    s.precision, s.recall, s.f1, s.gold, s.predicted, s.correct, (label_cis or {}).get(label),
                    {view: ViewMetrics.of(v) for view, v in views.get(label, {}).items()},
                )
                for label, s in result.per_label.items()
            },
            relaxed=RelaxedMetrics.of(relaxed) if relaxed is not None else None,
            counts=c.as_dict(), schema_error_rate=c.schema_error_rate, boundary_error_rate=c.boundary_error_rate,
            invalid_rate=c.invalid_rate, gold_breakdown=c.gold_breakdown(),
            semeval={view: ViewMetrics.of(v) for view, v in result.semeval().items()},
            repairs=repairs, documents=len(result.per_doc) if documents is None else documents,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The ``nerbench score --json`` object (None where a ratio is undefined)."""
        return {
            "micro": {
                "precision": self.precision, "recall": self.recall, "f1": self.f1,
                "f1_ci": list(self.f1_ci) if self.f1_ci else None,
            },
            "macro": {"precision": self.macro_precision, "recall": self.macro_recall, "f1": self.macro_f1},
            "per_label": {label: s.to_json() for label, s in self.per_label.items()},
            "counts": dict(self.counts),
            "schema_error_rate": self.schema_error_rate,
            "boundary_error_rate": self.boundary_error_rate,
            "invalid_rate": self.invalid_rate,
            "gold_breakdown": dict(self.gold_breakdown),
            "semeval": {view: asdict(v) for view, v in self.semeval.items()},
            "repairs": self.repairs,
            "documents": self.documents,
            "scorer_version": self.scorer_version,
            "relaxed": asdict(self.relaxed) if self.relaxed else None,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Metrics:
        micro, macro = data.get("micro") or {}, data.get("macro") or {}
        ci = micro.get("f1_ci")
        return cls(
            precision=_float(micro.get("precision")), recall=_float(micro.get("recall")), f1=_float(micro.get("f1")),
            f1_ci=(float(ci[0]), float(ci[1])) if ci else None,
            macro_precision=_float(macro.get("precision")), macro_recall=_float(macro.get("recall")),
            macro_f1=_float(macro.get("f1")),
            per_label={str(k): LabelMetrics.from_json(v) for k, v in (data.get("per_label") or {}).items()},
            counts={str(k): int(v) for k, v in (data.get("counts") or {}).items()},
            schema_error_rate=_float(data.get("schema_error_rate")),
            boundary_error_rate=_float(data.get("boundary_error_rate")),
            invalid_rate=_float(data.get("invalid_rate")),
            gold_breakdown={str(k): _float(v) for k, v in (data.get("gold_breakdown") or {}).items()},
            semeval={str(k): ViewMetrics(**v) for k, v in (data.get("semeval") or {}).items()},
            repairs=int(data.get("repairs") or 0), documents=int(data.get("documents") or 0),
            scorer_version=int(data.get("scorer_version") or SCORER_VERSION),
            relaxed=RelaxedMetrics(**data["relaxed"]) if data.get("relaxed") else None,
        )  # fmt: skip


@dataclass(frozen=True)
class Views:
    """The views ``nerbench score`` adds beside strict: relaxed matching, and (``buckets``) where it fails."""

    min_overlap: float = 0.5
    measure: str = "gold"
    by_label: Mapping[str, float] = field(default_factory=dict)
    buckets: bool = False
    train: Path | None = None  # a train split (any readable format), for the seen / unseen buckets
    train_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """A scored prediction file: the score, its CIs and views, and what the readers repaired."""

    score: Score
    f1_ci: tuple[float, float] | None
    documents: int
    repairs: int
    predicted_labels: Mapping[str, int]  # how many predicted spans carry each raw label
    label_views: Mapping[str, Mapping[str, SemEvalCounts]]
    label_cis: Mapping[str, tuple[float, float] | None]
    schema: frozenset[str] = frozenset()
    label_map: LabelMap | None = None
    buckets: tuple[Bucket, ...] = ()
    relaxed: Relaxed | None = None

    @property
    def metrics(self) -> Metrics:
        return Metrics.from_score(
            self.score, f1_ci=self.f1_ci, repairs=self.repairs, documents=self.documents,
            label_cis=self.label_cis, relaxed=self.relaxed, label_views=self.label_views,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """``score --json``'s object; with buckets, ``buckets`` is the list of them (see README)."""
        data = self.metrics.to_json()
        if any(b.attribute != "label" for b in self.buckets):
            data["buckets"] = [b.to_json() for b in self.buckets]
        return data


def evaluate_files(
    gold_path: str | Path,
    pred_path: str | Path,
    *,
    gold_format: str = "auto",
    pred_format: str = "auto",
    label_map: LabelMap | None = None,
    schema: frozenset[str] | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    views: Views | None = None,
    **read_options: Any,
) -> Evaluation:
    """Read a gold file and a prediction file (any two formats over the same texts) and score them, with
    relaxed matching beside strict, per-label CIs, and (``views.buckets``) every bucket.

    Without buckets, large files are read and scored a batch at a time (:mod:`nerbench.evaluation_stream`),
    with the same numbers; the files are read whole where that path cannot be sure of them.
    """
    views = views or Views()
    relaxed = Relaxed(views.min_overlap, views.measure, dict(views.by_label))
    if not views.buckets and views.train is None:
        try:
            s = score_streamed(
                Path(gold_path), Path(pred_path), gold_format=gold_format, pred_format=pred_format,
                label_map=label_map, schema=schema, bootstrap=bootstrap, seed=seed, relaxed=relaxed,
                read_options=read_options,
            )  # fmt: skip
        except NotStreamable:
            pass
        else:
            return Evaluation(
                s.score, s.f1_ci, s.documents, s.repairs, s.predicted_labels, s.label_views, s.label_cis,
                s.schema, label_map, (), s.relaxed,
            )  # fmt: skip
    gold = read_corpus(gold_path, format=gold_format, **read_options)
    predicted = read_corpus(pred_path, format=pred_format, **{**read_options, "overlaps": "allow", "predictions": True})
    spans = pair_predictions(gold.documents, predicted.documents, pred_path=Path(pred_path))
    if schema is None:  # the run's rule (a dataset without a declared schema): the gold's labels and the map's targets
        schema = frozenset(s.label for d in gold.documents for s in d.spans)
        schema |= label_map.targets() if label_map is not None else frozenset()
    result = score(gold.documents, spans, label_map=label_map, schema=schema)
    ci = bootstrap_ci(result, resamples=bootstrap, seed=seed) if bootstrap > 0 else None
    train = None
    if views.train is not None:
        train = entity_keys(read_corpus(views.train, **{**read_options, **views.train_options}).documents)
    buckets = compute_buckets(
        gold.documents, spans, result, train=train, train_split=str(views.train or ""), resamples=bootstrap,
        seed=seed, only=None if views.buckets else ("label",),
    )  # fmt: skip
    relaxed_counts = relaxed_view(
        gold.documents, spans, result, min_overlap=views.min_overlap, measure=views.measure, by_label=views.by_label
    )
    predicted_labels = Counter(s.label for d in predicted.documents for s in d.spans)
    label_cis = {b.value: b.f1_ci for b in buckets if b.attribute == "label"}
    return Evaluation(
        result, ci, len(gold.documents), gold.repairs + predicted.repairs, predicted_labels, label_semeval(result),
        label_cis, schema, label_map, buckets, relaxed_counts,
    )  # fmt: skip


def label_mismatch(evaluation: Evaluation, *, labels: frozenset[str] | None = None, share: float = 0.5) -> str | None:
    """A warning when the prediction labels and the gold labels barely meet (more than ``share`` of the
    predicted spans land outside them): the labels seen outside and the built-in maps that fit.

    ``labels``: the declared schema; by default the gold's own labels. Not the scoring schema, which also
    admits a map's targets: a wrong map (every prediction mapped to a label the gold never uses) is a mismatch.
    """
    if labels is None:
        labels = frozenset(label for label, s in evaluation.score.per_label.items() if s.gold)
    seen = Counter(evaluation.predicted_labels)
    total = sum(seen.values())
    off = outside(seen, evaluation.label_map, labels)
    n_off = sum(off.values())
    if not total or n_off / total <= share:
        return None
    fits = fitting_maps(frozenset(off), labels)
    hint = f"a built-in map would fit: --map {' or --map '.join(fits)}" if fits else "give --map NAME|FILE"
    names = ", ".join(sorted(off, key=lambda label: (-off[label], label))[:6])
    return (
        f"{n_off} of {total} predicted spans carry labels outside the gold's labels "
        f"({', '.join(sorted(labels))}): {names}; {hint}"
    )
