"""One cell's result: score its stored predictions, summarise latency, price its usage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nerbench.evaluation import metrics_json
from nerbench.harness.cost import (
    Cost,
    billed_cost,
    compute_cost,
    load_pricing,
    token_cost,
    units_for_requests,
    with_hourly,
)
from nerbench.harness.loading import LoadedDataset
from nerbench.harness.store import Store
from nerbench.harness.suite import ModelSpec, Suite
from nerbench.harness.worker_client import WorkerError
from nerbench.scoring import Score, bootstrap_ci, score
from nerbench.types import Span


def stored_spans(dataset: LoadedDataset, key: str, store: Store) -> tuple[list[list[Span]], dict[str, str]]:
    """The stored raw spans per document, in gold order, and the error of each failed document."""
    stored = store.predictions(key)
    spans: list[list[Span]] = []
    failed: dict[str, str] = {}
    for doc in dataset.documents:
        item = stored.get(doc.id)
        if item is None or item.error is not None:
            failed[doc.id] = item.error if item is not None and item.error else "no prediction stored"
            spans.append([])
            continue
        spans.append([Span(int(s), int(e), str(lab), sur) for s, e, lab, sur in item.spans])
    return spans, failed


def _percentile(samples: Sequence[float], q: float) -> float | None:
    return float(np.percentile(samples, q)) if samples else None


def cell_result(
    store: Store,
    suite: Suite,
    model: ModelSpec,
    dataset: LoadedDataset,
    key: str,
    perf: dict[str, Any],
    *,
    cached: bool,
) -> dict[str, Any]:
    """Score a cell's predictions and gather its latency, memory, cost and failures."""
    spans, failed = stored_spans(dataset, key, store)
    label_map = model.label_map_for(dataset.spec.name)
    schema = frozenset(dataset.spec.schema) or None
    result = score(dataset.documents, spans, label_map=label_map, schema=schema)
    settings = suite.settings
    ci = bootstrap_ci(result, resamples=settings.bootstrap, seed=settings.seed) if settings.bootstrap else None
    docs, chars, seconds = store.batch_totals(key)
    latency = perf.get("latency_ms", [])
    n_docs, n_chars = len(dataset.documents), sum(len(d.text) for d in dataset.documents)
    cost = _cost(suite, model, perf, seconds=seconds, docs=n_docs, chars=n_chars)
    return {
        "adapter": model.adapter,
        "family": perf.get("family"),
        "kind": perf.get("kind"),
        "notice": perf.get("notice"),
        "fingerprint": perf.get("fingerprint"),
        "label_map": label_map.name if label_map else None,
        "metrics": metrics_json(result, f1_ci=ci, repairs=dataset.corpus.repairs),
        "latency": {
            "load_s": perf.get("load_s"),
            "fit_s": perf.get("fit_s"),
            "p50_ms": _percentile(latency, 50),
            "p95_ms": _percentile(latency, 95),
            "p99_ms": _percentile(latency, 99),
            "samples": len(latency),
            "docs_per_s": docs / seconds if seconds else None,
            "chars_per_s": chars / seconds if seconds else None,
            "predict_s": seconds,
            "throughput_wall_s": perf.get("throughput_wall_s"),
            "batch_size": perf.get("batch_size"),
        },
        "memory": perf.get("memory", {}),
        "cost": cost,
        "usage": perf.get("usage", {}),
        "failures": {"failed_docs": len(failed), "error": next(iter(failed.values()), None)},
        "stability": perf.get("stability"),
        "cached": cached,
        "labels": perf.get("labels"),
        "describe": perf.get("describe"),
        "details": details(result),
    }


def details(result: Score) -> dict[str, Any]:
    """What the report and the gate need beyond the metrics: per-document counts (for paired
    bootstraps between runs) and every matching decision (for error examples and confusion)."""
    return {
        "doc_ids": list(result.doc_ids),
        "per_doc": result.per_doc.tolist(),
        "per_doc_columns": ["correct", "scored_predictions", "gold"],
        "instances": [
            [i.doc_id, i.gold_index, i.pred_index, i.cls.name, i.gold_label, i.pred_label] for i in result.instances
        ],
        "instance_columns": ["doc_id", "gold_index", "pred_index", "class", "gold_label", "pred_label"],
    }


def _cost(
    suite: Suite, model: ModelSpec, perf: dict[str, Any], *, seconds: float, docs: int, chars: int
) -> dict[str, Any]:
    """Dollars for the throughput pass, priced from what the model reports.

    A billed model's latency samples and stability passes are paid requests too: their
    dollars are ``probe_usd`` (kept out of the per-document figures, which describe the
    dataset pass) and ``spent_usd`` is what the run paid in all.
    """
    usage, memory = perf.get("usage", {}), perf.get("memory") or {}
    cost = usage_cost(suite, model, usage, memory, seconds=seconds, docs=docs, chars=chars)
    probes = perf.get("probe_usage") or {}
    probe_usd = 0.0
    if cost["basis"] != "compute" and probes:  # probes with nothing billed price at zero
        probe_usd = usage_cost(suite, model, probes, memory, seconds=0.0, docs=docs, chars=chars)["usd"]
    return {**cost, "probe_usd": probe_usd, "spent_usd": cost["usd"] + probe_usd}


def usage_cost(
    suite: Suite,
    model: ModelSpec,
    usage: dict[str, Any],
    memory: dict[str, Any],
    *,
    seconds: float,
    docs: int,
    chars: int,
) -> dict[str, Any]:
    """Price one model's usage: tokens for LLMs, billing units for APIs, compute time otherwise."""
    pricing = load_pricing(suite.pricing)
    cost: Cost
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
        hourly = suite.settings.gpu_usd_per_hour if on_gpu else suite.settings.instance_usd_per_hour
        if hourly:
            price = with_hourly(price, hourly)
        cost = compute_cost(seconds, price, docs=docs, chars=chars)
        basis = "compute"
    return {**cost.as_dict(), "basis": basis}
