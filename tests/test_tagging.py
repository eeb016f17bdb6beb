"""Tag schemes: round trips for every scheme, and equivalence with seqeval's chunkers."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval import scheme as seqeval_scheme
from seqeval.metrics.sequence_labeling import get_entities

from nerbench.tagging import (
    REPAIR_POLICIES,
    SCHEMES,
    Chunks,
    TagError,
    chunks_to_tags,
    detect_scheme,
    normalize_scheme,
    split_tag,
    tags_to_chunks,
)

LABELS = ("PER", "LOC", "ORG")


@st.composite
def chunked_sentences(draw: st.DrawFn, *, gap_between_same: bool = False) -> tuple[int, list[tuple[int, int, str]]]:
    """A sentence length and non-overlapping chunks over it (optionally never two same-type neighbours)."""
    length = draw(st.integers(0, 25))
    chunks: list[tuple[int, int, str]] = []
    i = 0
    while i < length:
        if draw(st.booleans()):
            i += 1
            continue
        end = draw(st.integers(i + 1, min(length, i + 4)))
        label = draw(st.sampled_from(LABELS))
        if gap_between_same and chunks and chunks[-1][1] == i and chunks[-1][2] == label:
            i += 1
            continue
        chunks.append((i, end, label))
        i = end
    return length, chunks


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s != "IO"])
@given(sentence=chunked_sentences())
def test_chunks_to_tags_round_trips_in_every_scheme(scheme: str, sentence: tuple[int, list]) -> None:
    length, chunks = sentence
    tags = chunks_to_tags(chunks, length, scheme=scheme)
    assert tags_to_chunks(tags, scheme=scheme, repair="error") == Chunks(tuple(chunks), 0)


@given(sentence=chunked_sentences(gap_between_same=True))
def test_io_round_trips_when_no_two_same_type_chunks_touch(sentence: tuple[int, list]) -> None:
    length, chunks = sentence
    tags = chunks_to_tags(chunks, length, scheme="IO")
    assert tags_to_chunks(tags, scheme="IO", repair="error") == Chunks(tuple(chunks), 0)
    bare = [t[2:] if t != "O" else t for t in tags]
    assert tags_to_chunks(bare, scheme="IO", repair="error").chunks == tuple(chunks)


def test_io_cannot_encode_touching_same_type_chunks() -> None:
    with pytest.raises(ValueError, match="adjacent"):
        chunks_to_tags([(0, 1, "PER"), (1, 2, "PER")], 2, scheme="IO")


def test_chunks_to_tags_rejects_overlap_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        chunks_to_tags([(0, 2, "PER"), (1, 3, "LOC")], 3)
    with pytest.raises(ValueError, match="out of range"):
        chunks_to_tags([(2, 4, "PER")], 3)


def random_tags(prefixes: str) -> st.SearchStrategy[list[str]]:
    """Any sequence of tags with these prefixes over two types: invalid transitions included."""
    tag = st.sampled_from(["O", *(f"{p}-{t}" for p in prefixes for t in ("X", "Y"))])
    return st.lists(tag, max_size=20)


def seqeval_lenient(tags: list[str]) -> tuple[tuple[int, int, str], ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tuple((start, end + 1, label) for label, start, end in get_entities(list(tags)))


def seqeval_strict(tags: list[str], scheme: type) -> tuple[tuple[int, int, str], ...]:
    entities = seqeval_scheme.Entities([list(tags)], scheme).entities[0]
    return tuple((e.start, e.end, e.tag) for e in entities)


@pytest.mark.parametrize("scheme, prefixes", [("IOB2", "BI"), ("IOBES", "BIES")])
@settings(max_examples=300)
@given(data=st.data())
def test_conlleval_repair_equals_seqeval_default_mode(scheme: str, prefixes: str, data: st.DataObject) -> None:
    tags = data.draw(random_tags(prefixes))
    assert tags_to_chunks(tags, scheme=scheme, repair="conlleval").chunks == seqeval_lenient(tags)


@pytest.mark.parametrize(
    "scheme, prefixes, reference",
    [
        ("IOB2", "BI", seqeval_scheme.IOB2),
        ("IOBES", "BIES", seqeval_scheme.IOBES),
        ("BILOU", "BILU", seqeval_scheme.BILOU),
        ("IOE2", "IE", seqeval_scheme.IOE2),
    ],
)
@settings(max_examples=300)
@given(data=st.data())
def test_discard_repair_equals_seqeval_strict_mode(
    scheme: str, prefixes: str, reference: type, data: st.DataObject
) -> None:
    tags = data.draw(random_tags(prefixes))
    assert tags_to_chunks(tags, scheme=scheme, repair="discard").chunks == seqeval_strict(tags, reference)


@pytest.mark.parametrize("repair", REPAIR_POLICIES)
def test_each_repair_policy_on_an_i_after_o(repair: str) -> None:
    tags = ["O", "I-PER", "I-PER", "O", "B-LOC"]
    if repair == "error":
        with pytest.raises(TagError, match="breaks the IOB2 scheme at token 2") as info:
            tags_to_chunks(tags, repair=repair)
        assert info.value.position == 1
        return
    kept = ((1, 3, "PER"), (4, 5, "LOC")) if repair == "conlleval" else ((4, 5, "LOC"),)
    assert tags_to_chunks(tags, repair=repair) == Chunks(kept, 1)


def test_iob1_b_only_between_same_type_chunks() -> None:
    assert tags_to_chunks(["I-PER", "B-PER", "O", "I-LOC"], scheme="IOB1", repair="error").chunks == (
        (0, 1, "PER"),
        (1, 2, "PER"),
        (3, 4, "LOC"),
    )
    assert tags_to_chunks(["O", "B-PER"], scheme="IOB1", repair="conlleval").repairs == 1


def test_malformed_tag_names_its_position() -> None:
    with pytest.raises(TagError, match="malformed tag 'PER'") as info:
        tags_to_chunks(["O", "B-PER", "PER"])
    assert info.value.position == 2


@pytest.mark.parametrize(
    "sequences, expected",
    [
        ([["B-PER", "I-PER", "O", "B-LOC"]], "IOB2"),
        ([["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]], "IOB1"),
        ([["I-PER", "O", "I-LOC"]], "IOB1"),
        ([["B-PER", "E-PER", "S-LOC"]], "IOBES"),
        ([["B-PER", "L-PER", "U-LOC"]], "BILOU"),
        ([["I-PER", "E-PER", "O"]], "IOE2"),
        ([["person", "person", "O", "place"]], "IO"),
        ([["O", "O"]], "IOB2"),
    ],
)
def test_detect_scheme(sequences: list[list[str]], expected: str) -> None:
    assert detect_scheme(sequences) == expected


def test_split_and_normalize() -> None:
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("O") == ("O", "")
    assert split_tag("person", "IO") == ("I", "person")
    assert normalize_scheme("bio") == "IOB2"
    assert normalize_scheme("bioes") == "IOBES"
    with pytest.raises(ValueError, match="unknown tag scheme"):
        normalize_scheme("XYZ")


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("B-", "needs a label"),
        ("I-", "needs a label"),
        ("X-PER", "'X' is no prefix"),
        ("b-per", "'b' is no prefix"),
        ("O-PER", "'O' is no prefix"),
        ("B- PER", "needs a label"),
        (" PER", "whitespace"),
        ("", "not empty"),
    ],
)
@pytest.mark.parametrize("scheme", ["IO", "IOB2", "IOBES"])
def test_a_malformed_tag_is_an_error_in_every_scheme_even_io(tag: str, problem: str, scheme: str) -> None:
    with pytest.raises(TagError, match=f"malformed tag {tag!r}: .*{problem}"):
        split_tag(tag, scheme)
    with pytest.raises(TagError, match="malformed tag") as info:
        tags_to_chunks(["O", tag], scheme=scheme)
    assert info.value.position == 1


def test_io_still_reads_bare_labels_and_prefixed_tags() -> None:
    assert split_tag("person", "IO") == ("I", "person")
    assert split_tag("New-York", "IO") == ("I", "New-York")  # no single-letter prefix: a bare label
    assert tags_to_chunks(["person", "person", "O", "I-place"], scheme="IO").chunks == (
        (0, 2, "person"),
        (3, 4, "place"),
    )
