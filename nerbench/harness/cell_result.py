"""One model on one dataset, as every consumer reads it: a frozen, typed, versioned ``CellResult``.

The runner builds it, the store and ``results.json`` keep its JSON form (``to_json``), and the CSV,
the report, the gate, the CLI summary and pandas read it back with ``from_json``. A cell is
``done`` (ranked, charted, picked), ``failed`` (the model never answered, or too many documents
failed) or ``schema-mismatch`` (most predictions carry labels outside the dataset's: a missing
label map); only ``done`` cells are findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from nerbench.buckets import Bucket
from nerbench.evaluation import Metrics

RESULT_VERSION = 2  # bump when the JSON form changes; from_json reads this version and 1

DONE, FAILED, SCHEMA_MISMATCH = "done", "failed", "schema-mismatch"
STATUSES = (DONE, FAILED, SCHEMA_MISMATCH)


def _known(cls: type, data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The entries of ``data`` that are fields of dataclass ``cls`` (older or newer JSON reads cleanly)."""
    names = {f.name for f in fields(cls)}
    known = {k: v for k, v in (data or {}).items() if k in names}
    if isinstance(known.get("f1_ci"), list):
        known["f1_ci"] = tuple(known["f1_ci"])
    return known


@dataclass(frozen=True)
class Latency:
    """Load and training time, single-document latency percentiles, and throughput of the dataset pass."""

    load_s: float | None = None
    fit_s: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    samples: int = 0
    docs_per_s: float | None = None
    chars_per_s: float | None = None
    words_per_s: float | None = None
    predict_s: float | None = None
    throughput_wall_s: float | None = None
    batch_size: int | None = None


@dataclass(frozen=True)
class Memory:
    """The worker's peak resident memory (and GPU memory where used)."""

    peak_rss_mb: float | None = None
    peak_gpu_mb: float | None = None


@dataclass(frozen=True)
class CellCost:
    """What the dataset pass cost, how it was priced, and what the run spent in all.

    ``basis`` is ``compute`` (local: seconds x ``usd_per_hour``, the instance price actually used),
    ``billing`` (a cloud API's units) or ``tokens`` (an LLM). ``probe_usd`` prices a billed model's
    latency samples and stability passes; ``spent_usd`` is both, what ``--max-cost`` counts.
    """

    usd: float = 0.0
    usd_per_1k_docs: float | None = None
    usd_per_1m_chars: float | None = None
    units: float = 0.0
    unit: str = ""
    price: str = ""
    price_date: str = ""
    basis: str = "compute"
    usd_per_hour: float | None = None
    probe_usd: float = 0.0
    spent_usd: float = 0.0


@dataclass(frozen=True)
class Failures:
    """Documents the model failed on, and the first reason."""

    failed_docs: int = 0
    documents: int = 0
    error: str | None = None

    @property
    def share(self) -> float | None:
        return self.failed_docs / self.documents if self.documents else None


@dataclass(frozen=True)
class Stability:
    """With ``stability_passes >= 2``: documents whose spans changed between passes."""

    passes: int
    changed_docs: int
    changed_share: float | None


@dataclass(frozen=True)
class TrainOverlap:
    """For a model trained in the run: test entities whose surface form and label occur in its train split."""

    split: str  # the dataset whose train split the model learned from
    seen: int
    entities: int

    @property
    def share(self) -> float | None:
        return self.seen / self.entities if self.entities else None


@dataclass(frozen=True)
class CellResult:
    """One model x dataset: status, scores, latency, memory, cost, failures and provenance."""

    model: str
    dataset: str
    status: str
    adapter: str
    reason: str | None = None  # why a cell is failed or schema-mismatch
    family: str = ""
    kind: str = ""  # the adapter's declared kind (rules, zero-shot); empty: pretrained, managed or trained
    notice: str = ""
    fingerprint: str = ""
    vocabulary: str = ""
    label_map: str | None = None
    label_map_how: str = ""  # "auto" (picked from the vocabulary), "given" (the suite's), or "" (none)
    metrics: Metrics | None = None
    latency: Latency = field(default_factory=Latency)
    memory: Memory = field(default_factory=Memory)
    cost: CellCost | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)  # the adapter's raw Usage, as reported
    failures: Failures = field(default_factory=Failures)
    stability: Stability | None = None
    train_overlap: TrainOverlap | None = None
    buckets: tuple[Bucket, ...] = ()  # where the model fails: F1 by span and document attribute
    cached: bool = False
    labels: tuple[str, ...] = ()  # the model's native labels
    describe: Mapping[str, str] = field(default_factory=dict)
    version: int = RESULT_VERSION

    @property
    def ranked(self) -> bool:
        """Only a finished cell with a score is a finding: ranked, charted, picked."""
        return self.status == DONE and self.metrics is not None and self.metrics.f1 is not None

    @property
    def f1(self) -> float | None:
        return self.metrics.f1 if self.metrics else None

    @property
    def trained(self) -> bool:
        """True when the model learned from a train split in the run."""
        return self.latency.fit_s is not None

    @property
    def label_map_text(self) -> str:
        """How labels were mapped, as the console and the report say it."""
        if self.label_map is None:
            return "none"
        return f"{self.label_map} ({self.label_map_how})" if self.label_map_how else self.label_map

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["metrics"] = self.metrics.to_json() if self.metrics else None
        data["labels"] = list(self.labels)
        data["describe"] = dict(self.describe)
        data["usage"] = dict(self.usage)
        data["buckets"] = [b.to_json() for b in self.buckets]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CellResult:
        """A cell from its JSON form (this version or version 1, the untyped dict of earlier runs)."""
        failures = dict(data.get("failures") or {})
        cost = data.get("cost")
        return cls(
            model=str(data["model"]), dataset=str(data["dataset"]), status=str(data.get("status") or DONE),
            adapter=str(data.get("adapter") or ""), reason=data.get("reason") or failures.get("error"),
            family=str(data.get("family") or data.get("adapter") or ""), kind=str(data.get("kind") or ""),
            notice=str(data.get("notice") or ""), fingerprint=str(data.get("fingerprint") or ""),
            vocabulary=str(data.get("vocabulary") or ""), label_map=data.get("label_map"),
            label_map_how=str(data.get("label_map_how") or ""),
            metrics=Metrics.from_json(data["metrics"]) if data.get("metrics") else None,
            latency=Latency(**_known(Latency, data.get("latency"))),
            memory=Memory(**_known(Memory, data.get("memory"))),
            cost=CellCost(**_known(CellCost, cost)) if cost else None,
            usage=dict(data.get("usage") or {}),
            failures=Failures(**_known(Failures, failures)),
            stability=Stability(**_known(Stability, data["stability"])) if data.get("stability") else None,
            train_overlap=(
                TrainOverlap(**_known(TrainOverlap, data["train_overlap"])) if data.get("train_overlap") else None
            ),
            buckets=tuple(Bucket(**_known(Bucket, b)) for b in data.get("buckets") or ()),
            cached=bool(data.get("cached")), labels=tuple(data.get("labels") or ()),
            describe={str(k): str(v) for k, v in (data.get("describe") or {}).items()},
            version=int(data.get("version") or 1),
        )  # fmt: skip
