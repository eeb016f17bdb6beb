"""Bucket rules pinned on hand-built documents: which bucket a span lands in, and what its numbers are."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerbench.buckets import (
    Bucket,
    capitalisation,
    compute_buckets,
    equal_frequency,
    first_sentence_end,
    range_names,
    word_bucket,
)
from nerbench.scoring import score
from nerbench.types import Document, Span
from nerbench.views import label_counts, relaxed_view


def doc(text: str, *spans: tuple[str, str], doc_id: str = "d") -> Document:
    """A document whose gold spans are given by their surface text (first occurrence) and label."""
    return Document(doc_id, text, tuple(span(text, surface, label) for surface, label in spans))


def span(text: str, surface: str, label: str) -> Span:
    start = text.index(surface)
    return Span(start, start + len(surface), label)


def buckets_of(
    docs: Sequence[Document], preds: Sequence[Sequence[Span]], **kw: object
) -> dict[tuple[str, str], Bucket]:
    result = score(docs, preds)
    return {(b.attribute, b.value): b for b in compute_buckets(docs, preds, result, resamples=0, **kw)}  # type: ignore[arg-type]


def test_a_spurious_prediction_lands_in_the_bucket_of_its_own_attribute() -> None:
    text = "Ada Lovelace met IBM and the ROYAL SOCIETY in London."
    gold = doc(text, ("Ada Lovelace", "PER"), ("London", "LOC"))
    # correct: Ada Lovelace; spurious: ROYAL SOCIETY (all caps, 2 words); London missed
    preds = [[span(text, "Ada Lovelace", "PER"), span(text, "ROYAL SOCIETY", "ORG")]]
    b = buckets_of([gold], preds)
    assert (b[("capitalisation", "all caps")].gold, b[("capitalisation", "all caps")].predicted) == (0, 1)
    assert b[("capitalisation", "all caps")].precision == 0.0 and b[("capitalisation", "all caps")].recall is None
    title = b[("capitalisation", "title case")]
    assert (title.correct, title.predicted, title.gold) == (1, 1, 2)  # Ada Lovelace, London
    assert (title.precision, title.recall) == (1.0, 0.5)
    assert b[("label", "ORG")].predicted == 1 and b[("label", "ORG")].gold == 0
    two = b[("span_words", "2")]
    assert (two.correct, two.predicted, two.gold) == (1, 2, 1)  # Ada Lovelace both sides, ROYAL SOCIETY predicted


def test_a_document_bucket_is_the_strict_f1_of_its_documents() -> None:
    short = doc("Ada came.", ("Ada", "PER"), doc_id="short")
    caps = doc("IBM BUYS RED HAT", ("IBM", "ORG"), ("RED HAT", "ORG"), doc_id="caps")
    preds = [[span(short.text, "Ada", "PER")], [span(caps.text, "IBM", "ORG")]]
    b = buckets_of([short, caps], preds)
    headline = b[("doc_caps", "all caps")]
    assert (headline.correct, headline.predicted, headline.gold, headline.documents) == (1, 1, 2, 1)
    assert headline.f1 == pytest.approx(2 / 3)
    assert b[("doc_caps", "not all caps")].f1 == 1.0


def test_equal_frequency_buckets_never_split_ties() -> None:
    # eight 2s and two 9s: the quartile cuts fall inside the run of 2s, so they collapse into one bound
    assert equal_frequency([2] * 8 + [9, 9], 4) == [2]
    assert range_names([2]) == ["≤2", "≥3"]
    assert equal_frequency([1, 2, 3, 4, 5, 6, 7, 8], 4) == [2, 4, 6]
    assert range_names([2, 4, 6]) == ["≤2", "3–4", "5–6", "≥7"]
    assert equal_frequency([5, 5, 5], 4) == [] and range_names([]) == ["all"]


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=60), st.integers(2, 6))
def test_no_value_is_split_across_two_buckets(values: list[int], k: int) -> None:
    bounds = equal_frequency(values, k)
    assert bounds == sorted(set(bounds)) and len(bounds) <= k - 1
    # each value falls in exactly one bucket, so equal values always share one
    for v in values:
        assert sum(1 for lo, hi in zip([-1, *bounds], [*bounds, 10**9], strict=True) if lo < v <= hi) == 1


def test_buckets_under_the_minimum_support_are_marked_not_hidden() -> None:
    text = "Ada met Bob and Cy in Rome."
    gold = doc(text, ("Ada", "PER"), ("Bob", "PER"), ("Cy", "PER"), ("Rome", "LOC"))
    b = buckets_of([gold], [list(gold.spans)], min_support=3)
    assert not b[("label", "PER")].thin and b[("label", "PER")].gold == 3
    assert b[("label", "LOC")].thin and b[("label", "LOC")].f1 == 1.0  # shown, with its number, but marked


def test_seen_and_unseen_need_a_train_split_and_name_it() -> None:
    text = "Ada met Bob in Rome."
    gold = doc(text, ("Ada", "PER"), ("Bob", "PER"), ("Rome", "LOC"))
    preds = [[span(text, "Ada", "PER"), span(text, "Rome", "PER")]]  # Rome with the wrong label
    assert not any(a == "seen" for a, _ in buckets_of([gold], preds))  # no train split: no seen / unseen buckets
    train = frozenset({("Ada", "PER"), ("Rome", "LOC")})
    b = buckets_of([gold], preds, train=train, train_split="news")
    seen, unseen = b[("seen", "seen")], b[("seen", "unseen")]
    assert (seen.correct, seen.gold, seen.predicted) == (1, 2, 1)  # Ada and Rome/LOC seen; predicted Rome/PER is not
    assert (unseen.correct, unseen.gold, unseen.predicted) == (0, 1, 1)
    assert seen.note == "train split of news"


def test_span_attribute_rules() -> None:
    assert [word_bucket(t) for t in ("Ada", "Ada Lovelace", "Bank of England", "The Bank of New York")] == [
        "1", "2", "3", "4+",
    ]  # fmt: skip
    assert [capitalisation(t) for t in ("NASA", "New York", "aspirin", "iPhone", "de Gaulle", "2024")] == [
        "all caps", "title case", "lower case", "mixed / other", "mixed / other", "mixed / other",
    ]  # fmt: skip
    assert first_sentence_end("Ada came. Bob went.") == len("Ada came.")
    assert first_sentence_end("Headline\nBody text.") == len("Headline\n")
    assert first_sentence_end("no end") == len("no end")


def test_relaxed_matching_counts_boundary_errors_that_overlap_enough() -> None:
    text = "The Bank of England raised rates."
    gold = doc(text, ("The Bank of England", "ORG"))
    pred = [[span(text, "Bank of England", "ORG")]]  # 15 of 19 gold characters: 0.79 of the gold, IoU 0.79
    result = score([gold], pred)
    assert result.counts.correct == 0 and result.counts.boundary_error == 1
    assert relaxed_view([gold], pred, result, min_overlap=0.5).correct == 1
    assert relaxed_view([gold], pred, result, min_overlap=0.8).correct == 0
    assert relaxed_view([gold], pred, result, min_overlap=0.8, by_label={"ORG": 0.7}).correct == 1
    wrong_label = [[span(text, "Bank of England", "LOC")]]
    assert relaxed_view([gold], wrong_label, score([gold], wrong_label), min_overlap=0.1).correct == 0


def test_label_counts_feed_each_label_s_semeval_views() -> None:
    text = "Ada met Bob in Rome."
    gold = doc(text, ("Ada", "PER"), ("Bob", "PER"), ("Rome", "LOC"))
    preds = [[span(text, "Ada", "PER"), span(text, "Bob", "LOC"), span(text, "in", "LOC")]]
    counts = label_counts(score([gold], preds))
    assert (counts["PER"].correct, counts["PER"].label_error, counts["PER"].missed) == (1, 1, 0)
    assert (counts["LOC"].missed, counts["LOC"].spurious) == (1, 1)  # Rome missed, "in" spurious as LOC
