"""What a suite will cost before anything is sent: documents, characters, billing units, dollars.

Uses the same pricing table and billing arithmetic as the run. Local models cost
compute time, which is only known once they run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nerbench.adapters.models import adapter_class
from nerbench.errors import ConfigError
from nerbench.harness.cost import load_pricing, request_units, tiered_usd
from nerbench.harness.loading import LoadedDataset, load_datasets
from nerbench.harness.suite import ModelSpec, Suite


def billing_requests(model: ModelSpec) -> Callable[[str], list[int]]:
    """How the model's adapter splits a text into billed requests (characters each).

    An adapter that splits long documents exposes the pure classmethod
    ``billing_requests(text)``; otherwise a document is one request.
    """
    try:
        split = getattr(adapter_class(model.adapter), "billing_requests", None)
    except ConfigError:
        split = None
    if callable(split):
        return split
    return lambda text: [len(text)]


def estimate_suite(
    suite: Suite, *, limit: int | None = None, datasets: Sequence[LoadedDataset] | None = None
) -> list[dict[str, Any]]:
    """One row per model x dataset; ``usd`` is None where the cost is compute time (``datasets``: read already)."""
    pricing = load_pricing(suite.pricing)
    rows = []
    for dataset in load_datasets(suite, limit) if datasets is None else datasets:
        lengths = [len(d.text) for d in dataset.documents]
        for model in suite.models:
            if not model.runs_on(dataset.spec.name):
                continue
            price = pricing.get(model.name) or pricing.get(model.adapter)
            row: dict[str, Any] = {
                "model": model.name, "dataset": dataset.spec.name, "documents": len(lengths),
                "characters": sum(lengths), "units": None, "usd": None, "basis": "compute (measured when run)",
            }  # fmt: skip
            if price is not None and price.kind == "characters":
                split = billing_requests(model)
                units = sum(request_units(n, price) for d in dataset.documents for n in split(d.text))
                basis = f"{price.unit}s, priced {price.date}"
                if price.free_units_per_month:  # shown, never subtracted: the allowance is per account and month
                    basis += f"; first {price.free_units_per_month:,} units a month free (not subtracted)"
                row.update(units=units, usd=tiered_usd(units, price), basis=basis)
            elif price is not None and price.kind == "tokens":
                row.update(basis="tokens (known only from the server's usage)")
            rows.append(row)
    return rows
