"""The CoNLL reader and writer on hand-written files: schemes, grouping, columns, quirks, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerbench.adapters.data import read_corpus, write_documents
from nerbench.adapters.data.base import Corpus, DataFormat, ReadOptions, WritableFormat
from nerbench.adapters.data.conll import FORMAT
from nerbench.errors import InputError
from nerbench.types import Document, Span


def read(tmp_path: Path, content: str, name: str = "gold.conll", **options: object) -> Corpus:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return FORMAT.read(path, ReadOptions(**options))  # type: ignore[arg-type]


def spans_of(corpus: Corpus) -> list[list[tuple[int, int, str]]]:
    return [[(s.start, s.end, s.label) for s in doc.spans] for doc in corpus.documents]


def conll(*sentences: str) -> str:
    """Sentences written as 'token/TAG token/TAG ...' -> TAB-separated CoNLL text."""
    blocks = ["\n".join("\t".join(pair.rsplit("/", 1)) for pair in s.split()) for s in sentences]
    return "\n\n".join(blocks) + "\n"


def test_format_implements_the_protocols() -> None:
    assert isinstance(FORMAT, DataFormat)
    assert isinstance(FORMAT, WritableFormat)
    assert FORMAT.name == "conll"
    assert ".conll" in FORMAT.extensions


JOHN = len("John ")
SMITH_END = len("John Smith")
PARIS = len("John Smith visited ")


@pytest.mark.parametrize(
    "tags, scheme",
    [
        ("B-PER I-PER O B-LOC", "IOB2"),
        ("I-PER I-PER O I-LOC", "IOB1"),
        ("I-PER E-PER O E-LOC", "IOE2"),
        ("B-PER E-PER O S-LOC", "IOBES"),
        ("B-PER L-PER O U-LOC", "BILOU"),
        ("PER PER O LOC", "IO"),
    ],
)
def test_each_scheme_decodes_to_the_same_spans(tmp_path: Path, tags: str, scheme: str) -> None:
    sentence = " ".join(
        f"{tok}/{tag}" for tok, tag in zip(["John", "Smith", "visited", "Paris"], tags.split(), strict=True)
    )
    for named in ("auto", scheme):
        corpus = read(tmp_path, conll(sentence), scheme=named)
        assert corpus.scheme == scheme
        assert corpus.repairs == 0
        assert spans_of(corpus) == [[(0, SMITH_END, "PER"), (PARIS, PARIS + len("Paris"), "LOC")]]
        doc = corpus.documents[0]
        assert doc.text == "John Smith visited Paris"
        assert doc.tokens == ((0, 4), (JOHN, SMITH_END), (len("John Smith "), len("John Smith visited")), (PARIS, 24))


def test_iob1_b_separates_same_type_neighbours(tmp_path: Path) -> None:
    corpus = read(tmp_path, conll("Bonn/I-LOC Paris/B-LOC x/O"))
    assert corpus.scheme == "IOB1"
    assert spans_of(corpus) == [[(0, len("Bonn"), "LOC"), (len("Bonn "), len("Bonn Paris"), "LOC")]]


I_AFTER_O = conll("the/O Smith/I-PER family/O in/O Paris/B-LOC")


def test_repair_conlleval_keeps_an_i_after_o(tmp_path: Path) -> None:
    corpus = read(tmp_path, I_AFTER_O, scheme="IOB2", repair="conlleval")
    assert corpus.repairs == 1
    assert spans_of(corpus) == [
        [(len("the "), len("the Smith"), "PER"), (len("the Smith family in "), len("the Smith family in Paris"), "LOC")]
    ]


def test_repair_discard_drops_it(tmp_path: Path) -> None:
    corpus = read(tmp_path, I_AFTER_O, scheme="IOB2", repair="discard")
    assert corpus.repairs == 1
    assert spans_of(corpus) == [[(len("the Smith family in "), len("the Smith family in Paris"), "LOC")]]


def test_repair_error_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="breaks the IOB2 scheme") as info:
        read(tmp_path, conll("a/O", "the/O Smith/I-PER"), scheme="IOB2", repair="error")
    assert info.value.path == str(tmp_path / "gold.conll")
    assert info.value.line == 4


def test_sentence_grouping_gives_one_document_per_sentence(tmp_path: Path) -> None:
    corpus = read(tmp_path, conll("John/B-PER ran/O", "Paris/B-LOC"))
    assert [d.id for d in corpus.documents] == ["gold-1", "gold-2"]
    assert [d.text for d in corpus.documents] == ["John ran", "Paris"]
    assert [d.meta["line"] for d in corpus.documents] == [1, 4]


DOCSTART_BEFORE = (
    "-DOCSTART- -X- O O\n\nJohn NNP - B-PER\nran VBD - O\n\nHe PRP - O\n\n-DOCSTART- -X- O O\n\nParis NNP - B-LOC\n"
)
DOCSTART_AFTER = "John B-PER\nran O\n\nHe O\n\n-DOCSTART- O\n\nParis B-LOC\n\n-DOCSTART- O\n"


@pytest.mark.parametrize("content", [DOCSTART_BEFORE, DOCSTART_AFTER], ids=["before", "after"])
def test_document_grouping_with_docstart_before_or_after(tmp_path: Path, content: str) -> None:
    corpus = read(tmp_path, content, group="document")
    assert [d.id for d in corpus.documents] == ["gold-doc1", "gold-doc2"]
    assert [d.text for d in corpus.documents] == ["John ran\nHe", "Paris"]
    assert spans_of(corpus) == [[(0, len("John"), "PER")], [(0, len("Paris"), "LOC")]]
    assert corpus.documents[0].meta["sentences"] == ((0, len("John ran")), (len("John ran\n"), len("John ran\nHe")))
    assert len(read(tmp_path, content).documents) == 3


def test_document_grouping_without_docstart_is_one_document(tmp_path: Path) -> None:
    corpus = read(tmp_path, conll("John/B-PER", "saw/O Paris/B-LOC"), group="document")
    assert [d.id for d in corpus.documents] == ["gold"]
    assert spans_of(corpus) == [[(0, 4, "PER"), (len("John\nsaw "), len("John\nsaw Paris"), "LOC")]]


def test_tag_column_can_be_chosen(tmp_path: Path) -> None:
    content = "John\tB-PER\tNNP\nSmith\tI-PER\tNNP\n"
    assert spans_of(read(tmp_path, content, tag_column=1)) == [[(0, SMITH_END, "PER")]]
    assert spans_of(read(tmp_path, content, tag_column=-2)) == [[(0, SMITH_END, "PER")]]


def test_extra_columns_after_the_first_line_are_ignored_and_a_missing_tag_column_is_an_error(tmp_path: Path) -> None:
    assert spans_of(read(tmp_path, "John\tB-PER\nSmith\tI-PER\tNNP\n")) == [[(0, SMITH_END, "PER")]]
    with pytest.raises(InputError, match="too few for a token and the tag in column 3") as info:
        read(tmp_path, "a\tb\tB-X\n", tag_column=3)
    assert info.value.line == 1


def test_space_and_tab_columns_read_alike(tmp_path: Path) -> None:
    spaced = read(tmp_path, "John  B-PER\nSmith   I-PER\n", name="a.txt")
    tabbed = read(tmp_path, "John\tB-PER\nSmith\tI-PER\n", name="b.txt")
    assert spans_of(spaced) == spans_of(tabbed) == [[(0, SMITH_END, "PER")]]


def test_crlf_line_ends_are_read_like_lf(tmp_path: Path) -> None:
    corpus = read(tmp_path, "John\tB-PER\r\nSmith\tI-PER\r\n\r\nParis B-LOC\r\n")
    assert [d.text for d in corpus.documents] == ["John Smith", "Paris"]
    assert spans_of(corpus) == [[(0, SMITH_END, "PER")], [(0, len("Paris"), "LOC")]]


def test_whitespace_only_lines_separate_sentences(tmp_path: Path) -> None:
    corpus = read(tmp_path, "a\tO\n\t\nb\tB-X\n   \nc\tO\n")
    assert [d.text for d in corpus.documents] == ["a", "b", "c"]


def test_empty_and_space_tokens_are_kept_in_tab_files(tmp_path: Path) -> None:
    corpus = read(tmp_path, "a\tO\n\tO\nke s\tB-PER\n \tO\nb\tB-LOC\n")
    doc = corpus.documents[0]
    assert doc.text == "a  ke s   b"
    assert doc.token_texts() == ["a", "", "ke s", " ", "b"]
    assert doc.tokens is not None and doc.tokens[1] == (len("a "), len("a "))
    assert spans_of(corpus) == [[(len("a  "), len("a  ke s"), "PER"), (len("a  ke s   "), len("a  ke s   b"), "LOC")]]


def test_entity_of_only_empty_tokens_is_skipped_and_noted(tmp_path: Path) -> None:
    corpus = read(tmp_path, "a\tO\n\tB-PER\nb\tB-LOC\n")
    assert spans_of(corpus) == [[(len("a  "), len("a  b"), "LOC")]]
    assert corpus.notes == ("1 entities made only of empty tokens were skipped (no character span)",)


def test_zero_width_characters_are_text(tmp_path: Path) -> None:
    corpus = read(tmp_path, "Dubbz\ufeff\tB-person\nwatched\u200bwas\tO\n")
    assert corpus.documents[0].text == "Dubbz\ufeff watched\u200bwas"
    assert spans_of(corpus) == [[(0, len("Dubbz\ufeff"), "person")]]


MULTI = "Apple\tB-corporation,B-product\nx\tO\n"


def test_multi_label_first_keeps_the_first_alternative(tmp_path: Path) -> None:
    assert spans_of(read(tmp_path, MULTI, multi_label="first")) == [[(0, len("Apple"), "corporation")]]


def test_multi_label_error_rejects_with_the_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="comma-joined alternatives") as info:
        read(tmp_path, "x\tO\n" + MULTI)
    assert info.value.line == 2


@pytest.mark.parametrize(
    "content, line, message",
    [
        ("John\tB-PER\nSmith\n", 2, "has 1 column\\(s\\) but the first token line has 2"),
        ("John\n", 1, "too few"),
        ("John B-PER NNP\nSmith I-PER\n", 2, "has 2 column\\(s\\) but the first token line has 3"),
        ("John\tB-PER\nSmith\tXX-PER\n", 2, "malformed tag 'XX-PER'"),
        ("John\tB-PER\n\nSmith\t\n", 3, "malformed tag ''"),
    ],
)
def test_malformed_input_names_the_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        read(tmp_path, content)
    assert info.value.path == str(tmp_path / "gold.conll")
    assert info.value.line == line
    assert "\n" not in str(info.value)


def test_empty_non_utf8_and_docstart_only_files_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        read(tmp_path, "\n  \n")
    with pytest.raises(InputError, match="no token lines"):
        read(tmp_path, "-DOCSTART- O\n\n")
    path = tmp_path / "latin1.conll"
    path.write_bytes("caf\xe9\tO\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as info:
        FORMAT.read(path, ReadOptions())
    assert info.value.line == 1


def test_sniff_recognises_token_columns(tmp_path: Path) -> None:
    assert FORMAT.sniff(tmp_path / "x", "-DOCSTART- -X- O O\n\nJohn NNP B-NP B-PER\n")
    assert FORMAT.sniff(tmp_path / "x", "John\tB-PER\nran\tO\n")
    assert FORMAT.sniff(tmp_path / "x", "I\tperson\nran\tO\n")
    assert not FORMAT.sniff(tmp_path / "x", '{"text": "John ran", "spans": []}\n')
    assert not FORMAT.sniff(tmp_path / "x", "Just a sentence of prose.\n")


def test_a_directory_reads_every_conll_file(tmp_path: Path) -> None:
    (tmp_path / "b.conll").write_text(conll("Paris/B-LOC"), encoding="utf-8")
    (tmp_path / "a.conll").write_text(conll("John/B-PER"), encoding="utf-8")
    corpus = FORMAT.read(tmp_path, ReadOptions(group="document"))
    assert [d.id for d in corpus.documents] == ["a", "b"]


# --- writing ---------------------------------------------------------------------------------


def test_write_splits_tokens_at_span_boundaries(tmp_path: Path) -> None:
    doc = Document("d", "I love New-York.", (Span(len("I love "), len("I love New-York"), "LOC"),))
    path = tmp_path / "out.conll"
    FORMAT.write([doc, Document("e", "Hi", ())], path)
    assert path.read_text(encoding="utf-8") == "I\tO\nlove\tO\nNew-York\tB-LOC\n.\tO\n\nHi\tO\n\n"


def test_write_uses_gold_tokens_and_keeps_spaces_inside_them(tmp_path: Path) -> None:
    doc = Document("d", "ke s x", (Span(0, len("ke s"), "PER"),), tokens=((0, 4), (5, 6)))
    path = tmp_path / "out.conll"
    FORMAT.write([doc], path)
    assert path.read_text(encoding="utf-8") == "ke s\tB-PER\nx\tO\n\n"
    assert spans_of(FORMAT.read(path, ReadOptions())) == [[(0, 4, "PER")]]


@pytest.mark.parametrize(
    "doc, message",
    [
        (Document("d", "New York", (Span(0, 8, "LOC"), Span(4, 8, "LOC"))), "overlap"),
        (Document("d", "a\tb", (), tokens=((0, 3),)), "TAB or line break"),
        (Document("d", "a  b", (Span(1, 3, "X"),), tokens=((0, 1), (3, 4))), "covers no token"),
    ],
)
def test_write_rejects_what_conll_cannot_hold(tmp_path: Path, doc: Document, message: str) -> None:
    with pytest.raises(InputError, match=message):
        FORMAT.write([doc], tmp_path / "out.conll")
    assert not (tmp_path / "out.conll").exists()


WORD = st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=6).filter(
    lambda w: w != "-DOCSTART-"
)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    words = draw(st.lists(WORD, min_size=1, max_size=12))
    text = " ".join(words)
    starts = [sum(len(w) + 1 for w in words[:i]) for i in range(len(words))]
    spans, i = [], 0
    while i < len(words):
        if draw(st.booleans()):
            i += 1
            continue
        end = draw(st.integers(i + 1, min(len(words), i + 3)))
        spans.append(Span(starts[i], starts[end - 1] + len(words[end - 1]), draw(st.sampled_from(["PER", "LOC"]))))
        i = end
    return Document("d", text, tuple(spans))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(documents(), min_size=1, max_size=4))
def test_write_then_read_gives_the_same_spans(tmp_path: Path, docs: list[Document]) -> None:
    path = tmp_path / "round.conll"
    FORMAT.write(docs, path)
    corpus = FORMAT.read(path, ReadOptions(scheme="IOB2", repair="error"))
    assert [d.text for d in corpus.documents] == [d.text for d in docs]
    assert [d.spans for d in corpus.documents] == [d.spans for d in docs]


def test_conll_to_jsonl_and_back_keeps_spans(tmp_path: Path) -> None:
    source = tmp_path / "gold.conll"
    source.write_text(DOCSTART_BEFORE, encoding="utf-8")
    docs = read_corpus(source, group="document").documents
    write_documents(docs, tmp_path / "x.jsonl")
    back = read_corpus(tmp_path / "x.jsonl").documents
    assert [(d.text, d.spans) for d in back] == [(d.text, d.spans) for d in docs]


# --- hardening: malformed tags, line ends, labels CoNLL cannot write --------------------------


@pytest.mark.parametrize(
    ("content", "line", "tag"),
    [
        ("John\tB-\nSmith\tO\n", 1, "B-"),
        ("John\tI-\nSmith\tI-\n", 1, "I-"),
        ("John\tX-PER\nSmith\tO\n", 1, "X-PER"),
        ("John\tB-PER\nSmith\tB-\n", 2, "B-"),
        ("John\tB-PER\n\nSmith\tX-PER\n", 3, "X-PER"),
    ],
    ids=["only-b", "only-i", "only-x", "b-beside-valid", "x-beside-valid"],
)
def test_a_malformed_tag_is_an_error_alone_or_beside_valid_tags(
    tmp_path: Path, content: str, line: int, tag: str
) -> None:
    with pytest.raises(InputError, match=f"malformed tag {tag!r}") as info:
        read(tmp_path, content)
    assert info.value.line == line
    assert "reads as" not in str(info.value)  # malformed in every scheme: no hint to change it


@pytest.mark.parametrize("scheme", ["IO", "IOB2"])
def test_a_malformed_tag_is_an_error_under_a_named_scheme_too(tmp_path: Path, scheme: str) -> None:
    with pytest.raises(InputError, match="malformed tag 'X-PER'"):
        read(tmp_path, "John\tX-PER\n", scheme=scheme)


def test_cr_only_line_ends_split_lines_and_sentences(tmp_path: Path) -> None:
    lf = "John\tB-PER\nSmith\tI-PER\n\nParis\tB-LOC\n"
    expected = [(d.text, d.spans, d.tokens) for d in read(tmp_path, lf).documents]
    assert len(expected) == 2
    cr = tmp_path / "cr.conll"
    cr.write_bytes(lf.replace("\n", "\r").encode())
    corpus = FORMAT.read(cr, ReadOptions())
    assert [(d.text, d.spans, d.tokens) for d in corpus.documents] == expected
    with pytest.raises(InputError) as info:
        FORMAT.read(_written(tmp_path, "John\tB-PER\rSmith\n"), ReadOptions())
    assert info.value.line == 2


def _written(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "raw.conll"
    path.write_bytes(content.encode())
    return path


@pytest.mark.parametrize("label", ["A,B", "A\tB", "A\nB"])
def test_write_refuses_a_label_that_would_read_back_otherwise(tmp_path: Path, label: str) -> None:
    with pytest.raises(InputError, match="CoNLL cannot write it"):
        FORMAT.write([Document("d", "Paris", (Span(0, 5, label),))], tmp_path / "out.conll")
    assert not (tmp_path / "out.conll").exists()


def test_a_utf16_file_says_so(tmp_path: Path) -> None:
    for data in ("John\tB-PER\n".encode("utf-16"), "John\tB-PER\nSmith\tI-PER\n".encode("utf-16-le")):
        path = _written(tmp_path, "")
        path.write_bytes(data)
        with pytest.raises(InputError, match="the file is UTF-16, not UTF-8: save it as UTF-8"):
            FORMAT.read(path, ReadOptions())


def test_write_keeps_a_first_token_that_starts_with_u_feff(tmp_path: Path) -> None:
    doc = Document("d", "\ufeffx y", (Span(0, 2, "PER"),))
    FORMAT.write([doc], tmp_path / "out.conll")
    (back,) = FORMAT.read(tmp_path / "out.conll", ReadOptions()).documents
    assert (back.text, back.spans) == (doc.text, doc.spans)


@pytest.mark.parametrize("name", ["out.conll", "out.jsonl"])
def test_writing_no_documents_is_an_error_not_a_file_nerbench_refuses(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="no documents to write"):
        write_documents([], tmp_path / name)
    assert not (tmp_path / name).exists()


def test_a_directory_whose_files_give_one_id_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.conll").write_text(conll("John/B-PER"), encoding="utf-8")
    (tmp_path / "a.txt").write_text(conll("Paris/B-LOC"), encoding="utf-8")
    with pytest.raises(InputError, match="two files give the document id 'a-1'") as info:
        FORMAT.read(tmp_path, ReadOptions())
    assert info.value.path == str(tmp_path)
