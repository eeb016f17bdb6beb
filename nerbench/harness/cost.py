"""Pricing table (dated, sourced data) and the billing-unit arithmetic that turns usage into dollars.

Three kinds of price: ``compute`` (local models: worker seconds x an instance's
hourly price), ``characters`` (cloud APIs: characters per request rounded up to
billing units, with a per-request minimum, priced by tier), ``tokens`` (LLMs:
input and output tokens per million).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from importlib import resources
from typing import Any

import yaml

from nerbench.errors import ConfigError


@dataclass(frozen=True)
class Price:
    """One pricing entry."""

    key: str
    kind: str
    unit: str
    date: str
    source: str
    note: str = ""
    usd_per_hour: float = 0.0
    unit_chars: int = 0
    min_units_per_request: int = 0
    tiers: tuple[tuple[float | None, float], ...] = ()
    free_units_per_month: int = 0
    usd_per_1m_input_tokens: float = 0.0
    usd_per_1m_output_tokens: float = 0.0


@dataclass(frozen=True)
class Cost:
    """Dollars for one cell, and per 1k documents / 1M characters."""

    usd: float
    usd_per_1k_docs: float | None
    usd_per_1m_chars: float | None
    units: float
    unit: str
    price_key: str
    price_date: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "usd": self.usd,
            "usd_per_1k_docs": self.usd_per_1k_docs,
            "usd_per_1m_chars": self.usd_per_1m_chars,
            "units": self.units,
            "unit": self.unit,
            "price": self.price_key,
            "price_date": self.price_date,
        }


def _price(key: str, entry: Mapping[str, Any]) -> Price:
    known = {f.name for f in fields(Price)} - {"key"}
    unknown = set(entry) - known
    if unknown:
        raise ConfigError(f"pricing {key!r}: unknown field(s) {', '.join(sorted(unknown))}")
    values = dict(entry)
    if "tiers" in values:
        values["tiers"] = tuple((None if t[0] is None else float(t[0]), float(t[1])) for t in values["tiers"])
    for name in ("date", "source"):
        values[name] = str(values.get(name, "suite override"))
    try:
        return Price(key=key, **values)
    except TypeError as err:
        raise ConfigError(f"pricing {key!r}: {err}") from None


def load_pricing(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Price]:
    """The shipped table with a suite's overrides applied field by field."""
    text = resources.files("nerbench.harness").joinpath("pricing.yaml").read_text(encoding="utf-8")
    table = yaml.safe_load(text)
    for key, override in (overrides or {}).items():
        if not isinstance(override, Mapping):
            raise ConfigError(f"pricing {key!r} must be a mapping of fields")
        base = dict(table.get(key, {}))
        base.update(override)
        if "date" not in override and key in table:
            base["date"] = f"{base.get('date')} (overridden by the suite)"
        table[key] = base
    return {key: _price(key, entry) for key, entry in table.items()}


def request_units(chars: int, price: Price) -> int:
    """Billing units for one request of ``chars`` characters (rounded up, with the minimum)."""
    if price.unit_chars <= 0:
        return 0
    return max(price.min_units_per_request, math.ceil(chars / price.unit_chars))


def tiered_usd(units: float, price: Price) -> float:
    """Dollars for ``units`` billing units under the entry's tiers (cumulative, as billed monthly)."""
    usd, below = 0.0, 0.0
    for up_to, per_unit in price.tiers:
        top = units if up_to is None else min(units, up_to)
        if top > below:
            usd += (top - below) * per_unit
            below = top
        if up_to is None or units <= up_to:
            break
    return usd


def units_for_requests(request_chars: Iterable[int], price: Price) -> int:
    """Billing units for a sequence of requests, as the provider counts them."""
    return sum(request_units(chars, price) for chars in request_chars)


def _per(usd: float, docs: int, chars: int) -> tuple[float | None, float | None]:
    return (usd / docs * 1000 if docs else None, usd / chars * 1_000_000 if chars else None)


def compute_cost(seconds: float, price: Price, *, docs: int, chars: int) -> Cost:
    """Local models: worker seconds x the instance's hourly price."""
    usd = seconds / 3600 * price.usd_per_hour
    per_docs, per_chars = _per(usd, docs, chars)
    return Cost(usd, per_docs, per_chars, seconds / 3600, price.unit, price.key, price.date)


def billed_cost(units: float, price: Price, *, docs: int, chars: int) -> Cost:
    """Cloud APIs: billing units priced by tier."""
    usd = tiered_usd(units, price)
    per_docs, per_chars = _per(usd, docs, chars)
    return Cost(usd, per_docs, per_chars, units, price.unit, price.key, price.date)


def token_cost(input_tokens: int, output_tokens: int, price: Price, *, docs: int, chars: int) -> Cost:
    """LLMs: tokens x price per million."""
    usd = input_tokens / 1e6 * price.usd_per_1m_input_tokens + output_tokens / 1e6 * price.usd_per_1m_output_tokens
    per_docs, per_chars = _per(usd, docs, chars)
    return Cost(usd, per_docs, per_chars, input_tokens + output_tokens, price.unit, price.key, price.date)


def with_hourly(price: Price, usd_per_hour: float) -> Price:
    """The same compute price at another hourly rate (a suite's ``instance_usd_per_hour``)."""
    return replace(price, usd_per_hour=usd_per_hour, date=f"{price.date} (rate set by the suite)")
