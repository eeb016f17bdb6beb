"""The shipped pricing table and the tiered billing arithmetic, against dollars computed by hand."""

from __future__ import annotations

import datetime

import pytest

from nerbench.errors import ConfigError
from nerbench.harness.cost import billed_cost, load_pricing, request_units, tiered_usd, units_for_requests

PRICING = load_pricing()


def test_the_shipped_cloud_tiers_are_dated_and_sourced() -> None:
    assert PRICING["google-language"].tiers == ((1_000_000, 0.001), (5_000_000, 0.0005), (None, 0.00025))
    assert PRICING["ibm-nlu"].tiers == ((250_000, 0.003), (5_000_000, 0.001), (None, 0.0002))
    assert PRICING["aws-comprehend"].tiers == ((10_000_000, 0.0001), (50_000_000, 0.00005), (None, 0.000025))
    assert PRICING["google-language"].free_units_per_month == 5000
    for key in ("google-language", "ibm-nlu", "aws-comprehend"):
        price = PRICING[key]
        datetime.date.fromisoformat(price.date)
        assert price.source.startswith("https://") and price.kind == "characters"


@pytest.mark.parametrize(
    ("key", "units", "usd"),
    [
        # Google: $1.00 per 1,000 units to 1M, then $0.50 to 5M, then $0.25
        ("google-language", 0, 0.0),
        ("google-language", 500, 0.50),
        ("google-language", 1_000_000, 1000.00),
        ("google-language", 1_000_001, 1000.0005),
        ("google-language", 5_000_000, 1000.00 + 4_000_000 * 0.0005),  # $3,000
        ("google-language", 6_000_000, 3000.00 + 1_000_000 * 0.00025),  # $3,250
        # IBM: $3.00 per 1,000 items to 250k, then $1.00 to 5M, then $0.20
        ("ibm-nlu", 1_000, 3.00),
        ("ibm-nlu", 250_000, 750.00),
        ("ibm-nlu", 300_000, 750.00 + 50.00),
        ("ibm-nlu", 5_000_000, 750.00 + 4750.00),  # $5,500
        ("ibm-nlu", 10_000_000, 5500.00 + 1000.00),  # $6,500
        # Comprehend: $0.0001 per unit to 10M, then $0.00005 to 50M, then $0.000025
        ("aws-comprehend", 10_000_000, 1000.00),
        ("aws-comprehend", 50_000_000, 1000.00 + 2000.00),
        ("aws-comprehend", 60_000_000, 3000.00 + 250.00),
    ],
)
def test_tiers_are_cumulative_across_their_boundaries(key: str, units: int, usd: float) -> None:
    assert tiered_usd(units, PRICING[key]) == pytest.approx(usd, abs=1e-9)


def test_requests_round_up_to_units_with_the_minimum() -> None:
    google, ibm, comprehend = PRICING["google-language"], PRICING["ibm-nlu"], PRICING["aws-comprehend"]
    assert [request_units(n, google) for n in (1, 1000, 1001, 2500)] == [1, 1, 2, 3]
    assert [request_units(n, ibm) for n in (1, 10_000, 10_001, 50_000)] == [1, 1, 2, 5]
    assert [request_units(n, comprehend) for n in (1, 300, 301, 5000)] == [3, 3, 4, 50]
    assert units_for_requests([1, 1001, 2500], google) == 6


def test_a_cell_over_a_boundary_is_priced_per_document_and_character() -> None:
    google = PRICING["google-language"]
    docs, chars = 2_000_000, 2_000_000 * 1000  # 2M documents of 1,000 characters: 2M Google units
    cost = billed_cost(docs * request_units(1000, google), google, docs=docs, chars=chars)
    assert cost.units == 2_000_000
    assert cost.usd == pytest.approx(1000.00 + 500.00)
    assert cost.usd_per_1k_docs == pytest.approx(0.75) and cost.usd_per_1m_chars == pytest.approx(0.75)
    assert cost.as_dict()["price_date"] == google.date


def test_a_suite_overrides_tiers_field_by_field_and_the_date_says_so() -> None:
    pricing = load_pricing({"ibm-nlu": {"tiers": [[100, 0.01], [None, 0.001]]}})
    price = pricing["ibm-nlu"]
    assert tiered_usd(150, price) == pytest.approx(100 * 0.01 + 50 * 0.001)
    assert price.unit_chars == 10_000 and price.date.endswith("(overridden by the suite)")
    with pytest.raises(ConfigError, match="unknown field"):
        load_pricing({"ibm-nlu": {"tier": [[None, 1.0]]}})
