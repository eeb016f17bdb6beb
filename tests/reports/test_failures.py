"""The "Where models fail" sentences, computed from hand-built buckets and checked against numbers worked by hand."""

from __future__ import annotations

from dataclasses import replace

from nerbench.buckets import Bucket
from nerbench.reports.failures import attribute_gap, sentence
from nerbench.reports.model import Row
from tests.reports.test_pick import LEADER, cell


def row(model: str, *buckets: Bucket) -> Row:
    result, _ = cell(model, LEADER)
    return Row(replace(result, buckets=buckets))


def span(attribute: str, value: str, correct: int, gold: int, *, thin: bool = False) -> Bucket:
    return Bucket(attribute, value, correct=correct, predicted=correct, gold=gold, documents=gold, thin=thin)


def test_the_widest_gap_names_the_model_it_hurts_most_first_and_the_others_on_the_same_buckets() -> None:
    rows = [
        row("crf", span("seen", "seen", 47, 50), span("seen", "unseen", 83, 100)),  # 94% / 83%
        row("spacy", span("seen", "seen", 46, 50), span("seen", "unseen", 54, 100)),  # 92% / 54%: widest
    ]
    gap = attribute_gap(rows, "seen")
    assert gap is not None and (gap.high, gap.low, gap.measure) == ("seen", "unseen", "recall")
    assert sentence(gap) == (
        "seen in training: spacy finds 92% of entities seen in training against 54% unseen in training; crf 94% / 83%"
    )


def test_thin_buckets_and_gaps_under_ten_points_make_no_sentence() -> None:
    thin = [row("crf", span("seen", "seen", 9, 9, thin=True), span("seen", "unseen", 10, 100))]
    assert attribute_gap(thin, "seen") is None  # 100% against 10%, but the 100% rests on 9 gold spans
    close = [row("crf", span("span_words", "1", 90, 100), span("span_words", "2", 82, 100))]
    assert attribute_gap(close, "span_words") is None  # 8 points


def test_a_one_word_bucket_reads_in_the_singular() -> None:
    rows = [row("crf", span("span_words", "1", 90, 100), span("span_words", "4+", 40, 100))]
    gap = attribute_gap(rows, "span_words")
    assert gap is not None
    assert "finds 90% of entities of 1 word against 40% of 4+ words" in sentence(gap)
