"""One cell's result: score its stored predictions, summarise latency, price its usage, and say
whether the numbers are a finding (``done``) or not (``failed``, ``schema-mismatch``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nerbench.evaluation import Metrics
from nerbench.harness.cell_result import (
    DONE,
    FAILED,
    RESULT_VERSION,
    SCHEMA_MISMATCH,
    CellCost,
    CellResult,
    Failures,
    Latency,
    Memory,
    Stability,
    TrainOverlap,
)
from nerbench.harness.cell_scoring import DetailsWriter, score_cell, stored_batches
from nerbench.harness.cost import (
    Cost,
    billed_cost,
    compute_cost,
    load_pricing,
    token_cost,
    units_for_requests,
    with_hourly,
)
from nerbench.harness.loading import LoadedDataset, content_hash
from nerbench.harness.store import Store
from nerbench.harness.suite import ModelSpec, Suite
from nerbench.harness.worker_client import WorkerError
from nerbench.labels import LabelMap, fitting_maps, outside
from nerbench.scoring import SCORER_VERSION
from nerbench.views import Relaxed

PER_DOC_COLUMNS = ("correct", "scored_predictions", "gold")  # the columns of details' per_doc rows
INSTANCE_COLUMNS = ("doc_id", "gold_index", "pred_index", "class", "gold_label", "pred_label")
MISMATCH_SHARE = 0.5  # more than this share of predictions outside the dataset's labels: a schema mismatch


@dataclass(frozen=True)
class CellInputs:
    """What scoring one cell needs beyond its stored predictions."""

    model: ModelSpec
    dataset: LoadedDataset
    key: str
    perf: Mapping[str, Any]
    cached: bool
    train_overlap: TrainOverlap | None = None
    train_keys: frozenset[tuple[str, str]] | None = None  # (surface, label) of the train split's entities
    train_split: str = ""  # the dataset whose train split they come from


def scoring_schema(dataset: LoadedDataset, label_map: LabelMap | None) -> frozenset[str]:
    """The labels a prediction may carry: the declared schema, else the gold's labels and the map's targets.

    ``nerbench score`` uses the same rule, so a run and a score agree on out-of-schema counts.
    """
    if dataset.spec.schema:
        return frozenset(dataset.spec.schema)
    return dataset.labels | (label_map.targets() if label_map else frozenset())


def result_key(
    suite: Suite, datasets: Sequence[LoadedDataset], model: ModelSpec, dataset: LoadedDataset, key: str, *,
    trains: bool,
) -> str:  # fmt: skip
    """What a cell's scored result depends on beyond its predictions (``key``): the gold, the label map and
    schema, every setting and price, the vocabulary, the train split "seen" refers to, and the scorer's and
    the result model's versions. Equal keys mean equal results, so a cached cell reuses its scoring."""
    label_map = model.label_map_for(dataset.spec.name)
    mapping = (label_map.name, sorted(label_map.mapping.items(), key=str), label_map.auto) if label_map else None
    split = (model.train or dataset.spec.name) if trains else dataset.spec.name
    train_hash = next((d.train_hash for d in datasets if d.spec.name == split), None)
    settings = sorted((k, str(v)) for k, v in suite.settings.__dict__.items())
    return content_hash(
        SCORER_VERSION, RESULT_VERSION, key, dataset.gold_hash, mapping, sorted(scoring_schema(dataset, label_map)),
        settings, dict(suite.pricing), model.vocabulary, model.adapter, split, train_hash,
    )  # fmt: skip


def _percentile(samples: Sequence[float], q: float) -> float | None:
    return float(np.percentile(samples, q)) if samples else None


def cell_result(
    store: Store, suite: Suite, cell: CellInputs, *, write_details: DetailsWriter | None = None
) -> CellResult:
    """Score a cell's predictions (streamed from the store: :mod:`~nerbench.harness.cell_scoring`), gather its
    latency, memory, cost and failures, and judge its status."""
    model, dataset, perf = cell.model, cell.dataset, cell.perf
    label_map = model.label_map_for(dataset.spec.name)
    schema = scoring_schema(dataset, label_map)
    settings = suite.settings
    scored = score_cell(
        dataset, stored_batches(dataset, cell.key, store), label_map=label_map, schema=schema,
        resamples=settings.bootstrap, seed=settings.seed,
        relaxed=Relaxed(settings.min_overlap, settings.overlap_measure, dict(settings.min_overlap_by_label or {})),
        train=cell.train_keys, train_split=cell.train_split, write_details=write_details,
    )  # fmt: skip
    metrics, failures = scored.metrics, scored.failures
    n_docs, n_chars = len(dataset.documents), dataset.characters
    docs, chars, seconds = store.batch_totals(cell.key)
    labels = frozenset(dataset.spec.schema) if dataset.spec.schema else dataset.labels
    status, reason = judge(metrics, failures, settings.max_failed_share, scored.predicted_labels, label_map, labels)
    latency_ms = list(perf.get("latency_ms") or [])
    busy = seconds / int(perf.get("replicas") or 1)  # replicas predict at once: rates are summed over them
    latency = Latency(
        load_s=perf.get("load_s"), fit_s=perf.get("fit_s"), p50_ms=_percentile(latency_ms, 50),
        p95_ms=_percentile(latency_ms, 95), p99_ms=_percentile(latency_ms, 99), samples=len(latency_ms),
        docs_per_s=docs / busy if busy else None, chars_per_s=chars / busy if busy else None,
        words_per_s=dataset.words / busy if busy and docs == n_docs else None, predict_s=seconds,
        throughput_wall_s=perf.get("throughput_wall_s"), batch_size=perf.get("batch_size"),
    )  # fmt: skip
    memory = perf.get("memory") or {}
    stability = perf.get("stability")
    cellres = CellResult(
        model=model.name, dataset=dataset.spec.name, status=status, reason=reason, adapter=model.adapter,
        family=str(perf.get("family") or model.adapter), kind=str(perf.get("kind") or ""),
        notice=str(perf.get("notice") or ""), fingerprint=str(perf.get("fingerprint") or ""),
        vocabulary=model.vocabulary or "", label_map=label_map.name if label_map else None,
        label_map_how=("auto" if label_map.auto else "given") if label_map else "",
        metrics=metrics, latency=latency,
        memory=Memory(memory.get("peak_rss_mb"), memory.get("peak_gpu_mb")),
        cost=cell_cost(suite, model, perf, seconds=seconds, docs=n_docs, chars=n_chars),
        usage=dict(perf.get("usage") or {}), failures=failures,
        stability=Stability(**stability) if stability else None, train_overlap=cell.train_overlap,
        buckets=scored.buckets, cached=cell.cached, labels=tuple(perf.get("labels") or ()),
        describe={str(k): str(v) for k, v in (perf.get("describe") or {}).items()},
    )  # fmt: skip
    return cellres


def judge(
    metrics: Metrics,
    failures: Failures,
    max_failed_share: float,
    predicted: Counter[str],
    label_map: LabelMap | None,
    labels: frozenset[str],
) -> tuple[str, str | None]:
    """``done``, or ``failed`` / ``schema-mismatch`` with the reason a user can act on.

    ``labels``: the dataset's own (its declared schema, else its gold labels), not the scoring schema, which
    also admits a map's targets: predictions mapped onto labels the dataset never uses (a wrong map) are a
    mismatch, not label errors behind an F1 of 0."""
    share = failures.share
    if share is not None and (failures.failed_docs == failures.documents or share > max_failed_share):
        return FAILED, failed_reason(failures)
    raw = metrics.raw_predictions
    out = sum(outside(predicted, label_map, labels).values())
    if raw and out / raw > MISMATCH_SHARE:
        return SCHEMA_MISMATCH, mismatch_reason(out, raw, predicted, label_map, labels)
    return DONE, None


_CAUSES = (  # (words in an error text, what the cause is called)
    (("credential", "unauthorized", "unauthorised", "401", "403", "forbidden", "api key", "apikey", "accessdenied",
      "signature"), "credentials"),
    (("quota", "429", "throttl", "resource_exhausted", "rate limit", "too many requests", "limitexceeded"), "quota"),
    (("connect", "connection", "refused", "unreachable", "name or service", "urlerror", "unavailable",
      "endpoint"), "connection"),
)  # fmt: skip


def failure_cause(error: str | None) -> str | None:
    """``credentials``, ``quota`` or ``connection`` when the error text says so (None: another cause)."""
    text = (error or "").lower()
    return next((cause for words, cause in _CAUSES if any(w in text for w in words)), None)


def failed_reason(failures: Failures) -> str:
    """One line: how many documents failed, the likely cause, the first error."""
    cause = failure_cause(failures.error)
    head = "every document failed" if failures.failed_docs == failures.documents else (
        f"{failures.failed_docs} of {failures.documents} documents failed"
    )  # fmt: skip
    return f"{head}{f' ({cause})' if cause else ''}: {failures.error or 'no reason given'}"


def mismatch_reason(
    out: int, raw: int, predicted: Counter[str], label_map: LabelMap | None, schema: frozenset[str]
) -> str:
    """Which labels fell outside (``predicted``: each raw label predicted, how often), and the built-in maps
    that would fit."""
    off = outside(predicted, label_map, schema)
    names = ", ".join(sorted(off, key=lambda label: (-off[label], label))[:6])
    fits = fitting_maps(frozenset(off), schema)
    how = f"label map {label_map.name}" if label_map else "no label map"
    hint = f"set label_map: {' or '.join(fits)}" if fits else "give a label_map into the dataset's labels"
    return (
        f"{out} of {raw} predictions carry labels outside the dataset's ({names}) with {how}: "
        f"{hint} (dataset labels: {', '.join(sorted(schema))})"
    )


def cell_cost(
    suite: Suite, model: ModelSpec, perf: Mapping[str, Any], *, seconds: float, docs: int, chars: int
) -> CellCost:
    """Dollars for the throughput pass, priced from what the model reports.

    A billed model's latency samples and stability passes are paid requests too: their
    dollars are ``probe_usd`` (kept out of the per-document figures, which describe the
    dataset pass) and ``spent_usd`` is what the run paid in all.
    """
    usage, memory = perf.get("usage") or {}, perf.get("memory") or {}
    cost = usage_cost(suite, model, usage, memory, seconds=seconds, docs=docs, chars=chars)
    probes = perf.get("probe_usage") or {}
    probe_usd = 0.0
    if cost.basis != "compute" and probes:  # probes with nothing billed price at zero
        probe_usd = usage_cost(suite, model, probes, memory, seconds=0.0, docs=docs, chars=chars).usd
    return replace(cost, probe_usd=probe_usd, spent_usd=cost.usd + probe_usd)


def usage_cost(
    suite: Suite,
    model: ModelSpec,
    usage: Mapping[str, Any],
    memory: Mapping[str, Any],
    *,
    seconds: float,
    docs: int,
    chars: int,
) -> CellCost:
    """Price one model's usage: tokens for LLMs, billing units for APIs, compute time otherwise."""
    pricing = load_pricing(suite.pricing)
    cost: Cost
    hourly: float | None = None
    if usage.get("input_tokens") or usage.get("output_tokens"):
        price = pricing.get(model.name, pricing["llm"])
        cost = token_cost(usage["input_tokens"], usage["output_tokens"], price, docs=docs, chars=chars)
        basis = "tokens"
    elif usage.get("billing_units") or usage.get("request_characters"):
        billed = pricing.get(model.name, pricing.get(model.adapter))
        if billed is None:
            raise WorkerError(f"no price for adapter {model.adapter!r}: add it under 'pricing' in the suite")
        units = usage.get("billing_units") or units_for_requests(usage["request_characters"], billed)
        cost = billed_cost(units, billed, docs=docs, chars=chars)
        basis = "billing"
    else:
        on_gpu = bool(memory.get("peak_gpu_mb"))
        price = pricing["local-gpu" if on_gpu else "local-cpu"]
        rate = suite.settings.gpu_usd_per_hour if on_gpu else suite.settings.instance_usd_per_hour
        if rate:
            price = with_hourly(price, rate)
        cost = compute_cost(seconds, price, docs=docs, chars=chars)
        basis, hourly = "compute", price.usd_per_hour
    return CellCost(
        usd=cost.usd, usd_per_1k_docs=cost.usd_per_1k_docs, usd_per_1m_chars=cost.usd_per_1m_chars,
        units=cost.units, unit=cost.unit, price=cost.price_key, price_date=cost.price_date, basis=basis,
        usd_per_hour=hourly, spent_usd=cost.usd,
    )  # fmt: skip
