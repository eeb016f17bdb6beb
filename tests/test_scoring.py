"""The scorer: hand-written cases for every class, invariants and order independence on random data."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerbench.labels import LabelMap
from nerbench.scoring import Counts, MatchClass, Score, score
from nerbench.types import Document, Span

TEXT = "I flew to New York with Anna Smith of Acme Corp yesterday"
NEW_YORK = Span(len("I flew to "), len("I flew to New York"), "LOC")
ANNA = Span(len("I flew to New York with "), len("I flew to New York with Anna Smith"), "PER")
ACME = Span(
    len("I flew to New York with Anna Smith of "), len("I flew to New York with Anna Smith of Acme Corp"), "ORG"
)
GOLD = Document("d1", TEXT, (NEW_YORK, ANNA, ACME))


def one(preds: list[Span], *, doc: Document = GOLD, **kwargs: object) -> Score:
    return score([doc], [preds], **kwargs)  # type: ignore[arg-type]


def classes(result: Score) -> Counter[MatchClass]:
    return Counter(i.cls for i in result.instances)


# --- hand-written cases, one per class -------------------------------------------------


def test_exact_predictions_are_correct() -> None:
    result = one([ACME, NEW_YORK, ANNA])
    assert result.counts == Counts(correct=3)
    assert (result.counts.precision, result.counts.recall, result.counts.f1) == (1.0, 1.0, 1.0)


def test_same_offsets_other_label_is_a_label_error() -> None:
    result = one([Span(NEW_YORK.start, NEW_YORK.end, "ORG"), ANNA, ACME])
    assert result.counts == Counts(correct=2, label_error=1)
    assert result.counts.schema_error_rate == pytest.approx(1 / 3)
    assert result.counts.boundary_error_rate == 0.0
    assert result.counts.invalid_rate == 0.0


def test_overlap_with_same_label_is_a_boundary_error() -> None:
    york = Span(len("I flew to New "), NEW_YORK.end, "LOC")
    result = one([york, ANNA, ACME])
    assert result.counts == Counts(correct=2, boundary_error=1)
    assert result.counts.boundary_error_rate == pytest.approx(1 / 3)
    assert result.counts.schema_error_rate == 0.0


def test_overlap_with_other_label_is_a_label_and_boundary_error() -> None:
    anna_of = Span(ANNA.start, len("I flew to New York with Anna Smith of"), "ORG")
    result = one([NEW_YORK, anna_of, ACME])
    assert result.counts == Counts(correct=2, label_boundary_error=1)
    assert result.counts.schema_error_rate == pytest.approx(1 / 3)
    assert result.counts.boundary_error_rate == pytest.approx(1 / 3)


def test_unmatched_prediction_is_spurious_and_unmatched_gold_is_missed() -> None:
    flew = Span(len("I "), len("I flew"), "MISC")
    result = one([flew, NEW_YORK])
    assert result.counts == Counts(correct=1, spurious=1, missed=2)
    assert result.counts.precision == pytest.approx(1 / 2)
    assert result.counts.recall == pytest.approx(1 / 3)


def test_exact_match_is_taken_before_an_overlap() -> None:
    """A prediction equal to a gold span is COR even when another prediction overlaps that gold span more widely."""
    wide = Span(NEW_YORK.start - len("to "), NEW_YORK.end, "LOC")
    for preds in ([wide, NEW_YORK], [NEW_YORK, wide]):
        assert one(preds, doc=Document("d", TEXT, (NEW_YORK,))).counts == Counts(correct=1, spurious=1)


def test_overlaps_are_matched_by_maximum_total_overlap() -> None:
    """Gold "New York" and "York with Anna"; predictions "New" and "York with" (which overlaps both gold spans).

    Greedy matching in span order could pair "York with" with "New York" and leave "New" spurious; the
    largest total overlap pairs "New"-"New York" (3) and "York with"-"York with Anna" (9), in every order.
    """
    text = "New York with Anna"
    g1, g2 = Span(0, len("New York"), "LOC"), Span(len("New "), len(text), "PER")
    p1, p2 = Span(0, len("New"), "LOC"), Span(len("New "), len("New York with"), "PER")
    # p1 overlaps g1 by 3; p2 overlaps g1 by 4 and g2 by 9: best total is p1-g1 (3) + p2-g2 (9).
    for gold, preds in itertools.product(itertools.permutations([g1, g2]), itertools.permutations([p1, p2])):
        result = one(list(preds), doc=Document("d", text, tuple(gold)))
        assert result.counts == Counts(boundary_error=2)


def test_duplicate_predictions_match_one_gold_span_once() -> None:
    result = one([NEW_YORK, NEW_YORK], doc=Document("d", TEXT, (NEW_YORK,)))
    assert result.counts == Counts(correct=1, spurious=1)


# --- invalid, out-of-schema, ignored -----------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        Span(len(TEXT) - 3, len(TEXT) + 2, "LOC"),  # runs past the end of the text
        Span(-1, 3, "LOC"),  # starts before it
        Span(NEW_YORK.start, NEW_YORK.start, "LOC"),  # empty
        Span(NEW_YORK.end, NEW_YORK.start, "LOC"),  # reversed
        Span(NEW_YORK.start, NEW_YORK.end, "LOC", surface="New Yrok"),  # surface mismatch
    ],
)
def test_invalid_predictions_count_against_precision(bad: Span) -> None:
    result = one([bad, NEW_YORK])
    assert result.counts == Counts(correct=1, missed=2, invalid=1)
    assert result.counts.predicted == 1
    assert result.counts.scored_predictions == 2
    assert result.counts.precision == pytest.approx(1 / 2)
    assert result.counts.schema_error_rate == pytest.approx(1 / 2)
    assert result.counts.invalid_rate == pytest.approx(1 / 2)
    assert [i.cls for i in result.instances if i.pred_index == 0] == [MatchClass.INVALID]


def test_a_matching_surface_keeps_a_prediction_valid() -> None:
    assert one([Span(NEW_YORK.start, NEW_YORK.end, "LOC", surface="New York")]).counts.correct == 1


def test_out_of_schema_and_ignored_labels_with_a_label_map() -> None:
    label_map = LabelMap("m", {"GPE": "LOC", "PERSON": "PER", "CARDINAL": None})
    preds = [
        Span(NEW_YORK.start, NEW_YORK.end, "GPE"),  # mapped -> COR
        Span(ANNA.start, ANNA.end, "PERSON"),  # mapped -> COR
        Span(ACME.start, ACME.end, "COMPANY"),  # unknown to the map -> out-of-schema
        Span(0, 1, "CARDINAL"),  # ignored on purpose: not counted against precision
    ]
    result = one(preds, label_map=label_map, schema=frozenset({"LOC", "PER", "ORG"}))
    assert result.counts == Counts(correct=2, missed=1, out_of_schema=1, ignored=1)
    assert result.counts.scored_predictions == 3
    assert result.counts.precision == pytest.approx(2 / 3)
    assert result.counts.schema_error_rate == pytest.approx(1 / 3)
    assert result.per_label["LOC"].correct == 1
    assert "COMPANY" not in result.per_label


def test_a_schema_without_a_map_puts_unknown_labels_out_of_schema() -> None:
    result = one([Span(NEW_YORK.start, NEW_YORK.end, "GPE"), ANNA], schema=frozenset({"LOC", "PER", "ORG"}))
    assert result.counts == Counts(correct=1, missed=2, out_of_schema=1)


def test_ratios_are_none_when_undefined() -> None:
    empty = score([Document("e", "nothing here")], [[]])
    assert empty.counts == Counts()
    c = empty.counts
    assert (c.precision, c.recall, c.f1, c.schema_error_rate, c.boundary_error_rate, c.invalid_rate) == (None,) * 6
    assert set(c.gold_breakdown().values()) == {None}
    assert empty.macro == {"precision": None, "recall": None, "f1": None}
    assert all(v.precision is None and v.f1 is None for v in empty.semeval().values())
    only_gold = one([])
    assert (only_gold.counts.precision, only_gold.counts.recall, only_gold.counts.f1) == (None, 0.0, 0.0)
    assert only_gold.per_label["LOC"].precision is None


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError, match="1 documents but 2 prediction lists"):
        score([GOLD], [[], []])


def test_semeval_views_from_one_matching() -> None:
    york = Span(len("I flew to New "), NEW_YORK.end, "LOC")  # BND
    anna_org = Span(ANNA.start, ANNA.end, "ORG")  # TYPE
    acme_per = Span(ACME.start, ACME.end - len(" Corp"), "PER")  # BND_TYPE
    views = one([york, anna_org, acme_per, Span(0, 1, "PER")]).semeval()
    as_tuple = {k: (v.correct, v.incorrect, v.partial, v.missed, v.spurious) for k, v in views.items()}
    assert as_tuple == {
        "strict": (0, 3, 0, 0, 1),
        "exact": (1, 2, 0, 0, 1),
        "partial": (1, 0, 2, 0, 1),
        "type": (1, 2, 0, 0, 1),
    }
    assert views["partial"].precision == pytest.approx((1 + 0.5 * 2) / 4)


def test_macro_averages_labels_with_gold_or_predictions() -> None:
    result = one([NEW_YORK, Span(ANNA.start, ANNA.end, "MISC")])
    # LOC 1/1; PER p=None r=0; ORG p=None r=0; MISC p=0 r=None -> f1 0 for all but LOC
    assert result.macro["f1"] == pytest.approx(1 / 4)
    assert result.per_label["MISC"].recall is None


# --- random data: invariants and order independence --------------------------------------

LABELS = ("PER", "LOC", "ORG")
MAP = LabelMap("m", {"PER": "PER", "LOC": "LOC", "ORG": "ORG", "GPE": "LOC", "DATE": None})
SCHEMA = frozenset(LABELS)


@st.composite
def documents(draw: st.DrawFn) -> tuple[Document, list[Span]]:
    """One short text with overlapping, nested and duplicate gold and predicted spans, some invalid."""
    size = draw(st.integers(1, 20))
    text = "".join(draw(st.lists(st.sampled_from("ab "), min_size=size, max_size=size)))
    bounds = st.tuples(st.integers(0, size - 1), st.integers(1, 6)).map(lambda t: (t[0], min(size, t[0] + t[1])))
    span = st.builds(lambda b, lab: Span(b[0], b[1], lab), bounds, st.sampled_from(LABELS))
    gold_spans: list[Span] = draw(st.lists(span, max_size=6))
    if gold_spans and draw(st.booleans()):
        gold_spans += draw(st.lists(st.sampled_from(gold_spans), max_size=2))  # duplicates
    pred_labels = st.sampled_from((*LABELS, "GPE", "DATE", "FOOD"))
    raw_bounds = st.one_of(bounds, st.tuples(st.integers(-2, size + 2), st.integers(-2, size + 3)))
    preds = draw(st.lists(st.builds(lambda b, lab: Span(b[0], b[1], lab), raw_bounds, pred_labels), max_size=7))
    preds += [Span(g.start, g.end, draw(pred_labels)) for g in gold_spans if draw(st.booleans())]
    if preds and draw(st.booleans()):
        p = preds[0]
        preds[0] = Span(p.start, p.end, p.label, surface=draw(st.sampled_from(["ab", text[p.start : p.end]])))
    return Document("d", text, tuple(gold_spans)), preds


corpora = st.lists(documents(), min_size=1, max_size=4)
mapped = st.sampled_from([{}, {"label_map": MAP, "schema": SCHEMA}])


def _score(corpus: list[tuple[Document, list[Span]]], options: dict) -> Score:
    docs = [Document(f"d{n}", doc.text, doc.spans) for n, (doc, _) in enumerate(corpus)]
    return score(docs, [preds for _, preds in corpus], **options)


def _everything(result: Score) -> tuple:
    return result.counts, dict(result.per_label), result.semeval(), result.per_doc.tolist()


@settings(max_examples=300, deadline=None)
@given(corpus=corpora, options=mapped)
def test_count_invariants(corpus: list[tuple[Document, list[Span]]], options: dict) -> None:
    result = _score(corpus, options)
    c = result.counts
    gold = sum(len(doc.spans) for doc, _ in corpus)
    raw = sum(len(preds) for _, preds in corpus)
    assert c.gold == gold == c.correct + c.label_error + c.boundary_error + c.label_boundary_error + c.missed
    assert c.predicted == c.correct + c.label_error + c.boundary_error + c.label_boundary_error + c.spurious
    assert c.predicted + c.invalid + c.out_of_schema + c.ignored == raw
    assert c.scored_predictions == c.predicted + c.invalid + c.out_of_schema
    if c.scored_predictions:
        assert c.precision == c.correct / c.scored_predictions
        assert c.schema_error_rate == pytest.approx(
            (c.label_error + c.label_boundary_error + c.out_of_schema + c.invalid) / c.scored_predictions
        )
        assert c.boundary_error_rate == pytest.approx(
            (c.boundary_error + c.label_boundary_error) / c.scored_predictions
        )
    if c.gold:
        assert sum(v or 0.0 for v in c.gold_breakdown().values()) == pytest.approx(1 - c.recall)  # type: ignore[operator]
    assert sum(s.gold for s in result.per_label.values()) == c.gold
    assert sum(s.predicted for s in result.per_label.values()) == c.predicted
    assert sum(s.correct for s in result.per_label.values()) == c.correct
    assert result.per_doc.sum(axis=0).tolist() == [c.correct, c.scored_predictions, c.gold]


@settings(max_examples=300, deadline=None)
@given(corpus=corpora, options=mapped)
def test_instances_cover_every_gold_span_and_raw_prediction_once(
    corpus: list[tuple[Document, list[Span]]], options: dict
) -> None:
    result = _score(corpus, options)
    gold_seen = Counter((i.doc_id, i.gold_index) for i in result.instances if i.gold_index is not None)
    pred_seen = Counter((i.doc_id, i.pred_index) for i in result.instances if i.pred_index is not None)
    assert gold_seen == Counter((f"d{n}", k) for n, (doc, _) in enumerate(corpus) for k in range(len(doc.spans)))
    assert pred_seen == Counter((f"d{n}", k) for n, (_, preds) in enumerate(corpus) for k in range(len(preds)))
    assert (
        Counter(i.cls for i in result.instances)
        == Counter({cls: getattr(result.counts, name) for cls, name in zip(MatchClass, Counts.__slots__, strict=True)})
        - Counter()
    )
    docs = {f"d{n}": doc for n, (doc, _) in enumerate(corpus)}
    for i in result.instances:
        if i.cls == MatchClass.COR:
            g = docs[i.doc_id].spans[i.gold_index]  # type: ignore[index]
            p = corpus[int(i.doc_id[1:])][1][i.pred_index]  # type: ignore[index]
            assert (g.start, g.end) == (p.start, p.end)
            assert i.gold_label == i.pred_label == g.label


@settings(max_examples=400, deadline=None)
@given(corpus=corpora, options=mapped, seed=st.integers(0, 2**32 - 1))
def test_span_order_never_changes_a_count(corpus: list[tuple[Document, list[Span]]], options: dict, seed: int) -> None:
    rng = random.Random(seed)
    shuffled = []
    for doc, preds in corpus:
        gold = list(doc.spans)
        rng.shuffle(gold)
        preds = list(preds)
        rng.shuffle(preds)
        shuffled.append((Document(doc.id, doc.text, tuple(gold)), preds))
    assert _everything(_score(shuffled, options)) == _everything(_score(corpus, options))


def test_order_independence_on_overlap_ties() -> None:
    """Ties in overlap (two gold spans overlapping two predictions equally) give the same counts in every order."""
    text = "aaaa bbbb cccc"
    gold = [Span(0, 9, "PER"), Span(5, 14, "LOC"), Span(5, 14, "ORG")]
    preds = [Span(0, 7, "LOC"), Span(7, 14, "PER"), Span(5, 9, "LOC")]
    seen = set()
    for g in itertools.permutations(gold):
        for p in itertools.permutations(preds):
            result = score([Document("d", text, g)], [list(p)])
            seen.add((result.counts, tuple(result.per_label.items())))
    assert len(seen) == 1


@settings(max_examples=200, deadline=None)
@given(corpus=corpora)
def test_overlap_matching_is_optimal(corpus: list[tuple[Document, list[Span]]]) -> None:
    """Brute force over every one-to-one matching: COR, then TYPE, then total overlap, then pairs are maximal.

    (Same-label pairs are maximised only among the spans step 2 left, so that is not compared.)
    """
    for doc, preds in corpus:
        valid = [p for p in preds if 0 <= p.start < p.end <= len(doc.text) and p.surface in (None, doc.span_text(p))]
        valid = [Span(p.start, p.end, lab) for p in valid if (lab := MAP.mapping.get(p.label))]
        gold = list(doc.spans)
        if len(gold) > 5 or len(valid) > 5:
            continue
        result = score([doc], [valid])
        c = result.counts
        pairs = [
            (gold[i.gold_index], valid[i.pred_index])
            for i in result.instances
            if i.cls in (MatchClass.BND, MatchClass.BND_TYPE) and i.gold_index is not None and i.pred_index is not None
        ]
        overlap = sum(min(g.end, p.end) - max(g.start, p.start) for g, p in pairs)
        assert (c.correct, c.label_error, overlap, c.matched) == max(_brute_force(gold, valid))[:4]


def _brute_force(gold: list[Span], preds: list[Span]) -> list[tuple[int, int, int, int]]:
    """(COR, TYPE, overlap of the other pairs, pairs) for every one-to-one matching of overlapping spans."""
    found = []
    for size in range(min(len(gold), len(preds)) + 1):
        for gs in itertools.combinations(range(len(gold)), size):
            for ps in itertools.permutations(range(len(preds)), size):
                pairs = [(gold[g], preds[p]) for g, p in zip(gs, ps, strict=True)]
                if any(min(g.end, p.end) <= max(g.start, p.start) for g, p in pairs):
                    continue
                cor = sum(g == p for g, p in pairs)
                typ = sum((g.start, g.end) == (p.start, p.end) and g.label != p.label for g, p in pairs)
                rest = [(g, p) for g, p in pairs if (g.start, g.end) != (p.start, p.end)]
                overlap = sum(min(g.end, p.end) - max(g.start, p.start) for g, p in rest)
                found.append((cor, typ, overlap, size))
    return found
