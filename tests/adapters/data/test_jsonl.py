"""The JSONL offsets reader and writer on hand-written files: shapes, ids, tokens, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nerbench.adapters.data.base import Corpus, DataFormat, ReadOptions, WritableFormat
from nerbench.adapters.data.jsonl import FORMAT
from nerbench.errors import InputError
from nerbench.types import Document, Span

TEXT = "Ana flew to Zürich 🛫 with IBM."


def write_lines(tmp_path: Path, *objects: object, name: str = "gold.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects), encoding="utf-8")
    return path


def read(path: Path, **options: object) -> Corpus:
    return FORMAT.read(path, ReadOptions(**options))  # type: ignore[arg-type]


def test_format_implements_the_protocols() -> None:
    assert isinstance(FORMAT, DataFormat)
    assert isinstance(FORMAT, WritableFormat)
    assert FORMAT.name == "jsonl"


def test_reads_spacy_style_spans_with_code_point_offsets(tmp_path: Path) -> None:
    zurich = len("Ana flew to ")
    spans = [{"start": 0, "end": 3, "label": "PER"}, {"start": zurich, "end": zurich + len("Zürich"), "label": "LOC"}]
    doc = read(write_lines(tmp_path, {"text": TEXT, "spans": spans})).documents[0]
    assert doc == Document("1", TEXT, (Span(0, 3, "PER"), Span(zurich, zurich + 6, "LOC")))
    assert doc.span_text(doc.spans[1]) == "Zürich"


def test_reads_prodigy_spans_tokens_meta_and_skips_rejects(tmp_path: Path) -> None:
    ibm = TEXT.index("IBM")
    line = {
        "text": TEXT,
        "id": 7,
        "tokens": [{"text": "Ana", "start": 0, "end": 3, "id": 0}, {"text": "flew", "start": 4, "end": 8, "id": 1}],
        "spans": [{"start": ibm, "end": ibm + 3, "label": "ORG", "token_start": 6, "token_end": 6, "text": "IBM"}],
        "meta": {"source": "news"},
        "answer": "accept",
    }
    rejected = {"text": "no", "spans": [], "answer": "reject"}
    corpus = read(write_lines(tmp_path, line, rejected))
    (doc,) = corpus.documents
    assert doc.id == "7"
    assert doc.spans == (Span(ibm, ibm + 3, "ORG"),)
    assert doc.tokens == ((0, 3), (4, 8))
    assert doc.meta["source"] == "news"
    assert corpus.notes == ("1 Prodigy lines answered reject/ignore were skipped",)


def test_reads_entity_triples_and_sorts_spans(tmp_path: Path) -> None:
    path = write_lines(tmp_path, {"text": TEXT, "entities": [[12, 18, "LOC"], [0, 3, "PER"]]})
    assert read(path).documents[0].spans == (Span(0, 3, "PER"), Span(12, 18, "LOC"))


def test_keeps_native_labels_of_prediction_files(tmp_path: Path) -> None:
    spans = [{"start": 12, "end": 18, "label": "LOC", "native_label": "GPE"}, {"start": 0, "end": 3, "label": "PER"}]
    doc = read(write_lines(tmp_path, {"id": "a", "text": TEXT, "spans": spans})).documents[0]
    assert doc.meta["native_labels"] == ("PER", "GPE")


def test_blank_lines_are_skipped_and_ids_default_to_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b"}\n', encoding="utf-8")
    assert [d.id for d in read(path).documents] == ["1", "3"]


def test_writer_writes_one_object_per_line_atomically(tmp_path: Path) -> None:
    docs = [Document("x", "Zoë 🎉", (Span(0, 3, "PER"),), ((0, 3), (4, 5))), Document("y", "plain")]
    path = tmp_path / "out.jsonl"
    FORMAT.write(docs, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {
        "id": "x",
        "text": "Zoë 🎉",
        "spans": [{"start": 0, "end": 3, "label": "PER"}],
        "tokens": [[0, 3], [4, 5]],
    }
    assert "Zoë 🎉" in lines[0]  # not ASCII-escaped
    assert json.loads(lines[1]) == {"id": "y", "text": "plain", "spans": []}
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary file left
    assert read(path).documents == tuple(docs)


def test_writer_refuses_spans_outside_the_text_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match="outside the text"):
        FORMAT.write([Document("x", "abc", (Span(1, 9, "X"),))], path)
    assert not path.exists()


def test_overlaps_are_kept_when_allowed(tmp_path: Path) -> None:
    path = write_lines(tmp_path, {"text": TEXT, "entities": [[0, 8, "A"], [4, 8, "B"]]})
    assert len(read(path, overlaps="allow").documents[0].spans) == 2


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        (['{"text": "ok"}', '{"text": "broken"'], 2, "invalid JSON"),
        (['{"text": "ok"}', "[1, 2]"], 2, "expected a JSON object"),
        (['{"text": "ok"}', '{"spans": []}'], 2, "'text' string"),
        (['{"text": "abc", "entities": [[1, 9, "X"]]}'], 1, "outside the text"),
        (['{"text": "abc", "entities": [[2, 2, "X"]]}'], 1, "or empty"),
        (['{"text": "abcdef", "entities": [[0, 3, "X"], [2, 5, "Y"]]}'], 1, "overlap"),
        (['{"text": "abc", "spans": [{"start": 0, "end": 2, "label": "X", "text": "bc"}]}'], 1, "says its text"),
        (['{"text": "abc", "spans": [{"start": 0, "label": "X"}]}'], 1, "needs 'start'"),
        (['{"text": "abc", "entities": [[0.5, 2, "X"]]}'], 1, "integer"),
        (['{"id": 1, "text": "a"}', '{"id": "1", "text": "b"}'], 2, "duplicate document id"),
    ],
)
def test_malformed_lines_name_the_file_and_line(tmp_path: Path, lines: list[str], line: int, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        read(path)
    assert info.value.path == str(path)
    assert info.value.line == line


def test_empty_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(InputError, match="empty") as info:
        read(empty)
    assert info.value.path == str(empty)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"text": "ok"}\n{"text": "Z\xfcrich"}\n')
    with pytest.raises(InputError, match="not UTF-8") as info:
        read(latin)
    assert (info.value.path, info.value.line) == (str(latin), 2)


def test_sniff_tells_generic_jsonl_from_doccano(tmp_path: Path) -> None:
    assert FORMAT.sniff(Path("a.jsonl"), '{"text": "a", "spans": []}\n')
    assert FORMAT.sniff(Path("a.jsonl"), '{"text": "a"}\n')
    assert not FORMAT.sniff(Path("a.jsonl"), '{"text": "a", "label": [[0, 1, "X"]]}\n')
    assert not FORMAT.sniff(Path("a.json"), '[{"data": {"text": "a"}}]')
    long_doccano = write_lines(tmp_path, {"text": "a" * 9000, "label": [[0, 1, "X"]]}, name="long.jsonl")
    head = long_doccano.read_text(encoding="utf-8")[:8192]
    assert not FORMAT.sniff(long_doccano, head)  # the keys after a long text are read too
    long_jsonl = write_lines(tmp_path, {"text": "a" * 9000, "spans": []}, name="long2.jsonl")
    assert FORMAT.sniff(long_jsonl, long_jsonl.read_text(encoding="utf-8")[:8192])


# --- hardening: only the documented keys hold spans; limits on what a line may hold ------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"text": "John", "label": "PER"}, "key 'label' holds no spans"),
        ({"text": "John", "labels": [[0, 4, "PER"]]}, "--format doccano"),
        ({"text": "John", "label": [[0, 4, "PER"]], "spans": []}, "key 'label' holds no spans"),
        ({"text": "John", "ents": [{"start": 0, "end": 4, "label": "PER"}]}, "rename 'ents' to 'spans'"),
        ({"text": "John", "annotations": []}, "--format labelstudio"),
        ({"text": "John", "ner_tags": ["B-PER"]}, "--format hf"),
        ({"text": "John", "spans": 0}, "'spans' must be a list of {start, end, label}, found a number"),
        ({"text": "John", "spans": None}, "'spans' must be a list .* found null"),
        ({"text": "John", "spans": {"start": 0, "end": 4, "label": "PER"}}, "found an object"),
        ({"text": "John", "entities": "PER"}, "'entities' must be a list .* found a string"),
        ({"text": "John", "entities": [{"start_offset": 0, "end_offset": 4, "label": "PER"}]}, "--format doccano"),
        ({"text": "John", "spans": [{"start": 0, "end": 4, "label": "X", "labels": ["Y"]}]}, "unknown key"),
        ({"text": "John", "spans": [{"start": 0, "end": 4, "label": "X", "native_label": 3}]}, "label must be a str"),
        ({"text": "John", "spans": [{"start": 0, "end": 4, "label": " "}]}, "empty or blank label"),
        ({"text": "John", "spans": [{"start": 0, "end": 4, "label": "PER "}]}, "begins or ends with whitespace"),
        ({"text": "John", "meta": "news"}, "'meta' must be an object, found a string"),
        ({"text": "John", "answer": "acept"}, "'answer' must be one of accept, reject, ignore"),
        ({"text": "John", "id": None}, "id must be a string or an integer"),
    ],
)
def test_spans_under_another_key_or_of_another_type_are_errors(tmp_path: Path, line: object, message: str) -> None:
    path = write_lines(tmp_path, {"text": "ok"}, line)
    with pytest.raises(InputError, match=message) as info:
        read(path)
    assert (info.value.path, info.value.line) == (str(path), 2)


def test_a_prodigy_task_label_beside_spans_and_prodigy_span_extras_are_read(tmp_path: Path) -> None:
    span = {"start": 0, "end": 4, "label": "PER", "token_start": 0, "token_end": 0, "score": 0.9, "source": "m"}
    path = write_lines(tmp_path, {"text": "John", "label": "PER", "spans": [span], "answer": "accept"})
    assert read(path).documents[0].spans == (Span(0, 4, "PER"),)


def test_invalid_predictions_must_be_a_list_of_objects(tmp_path: Path) -> None:
    path = write_lines(tmp_path, {"text": "John", "spans": [], "invalid": "x"})
    assert read(path).documents[0].spans == ()  # only prediction files read "invalid"
    with pytest.raises(InputError, match="'invalid' must be a list"):
        read(path, predictions=True)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('{"text": "a\\ud800"}', 1, "lone surrogate \\(U\\+D800\\)"),
        ('{"text": "a", "meta": {"\\udc00": 1}}', 1, "lone surrogate"),
        ('{"text": "a"}\n' + "[" * 100_000, 2, "nested deeper than 100 levels"),
        ('{"text": "a", "meta": ' + "[" * 150 + "]" * 150 + "}", 1, "nested deeper than 100 levels"),
        ('{"text": "ab", "entities": [[0, ' + "1" * 5000 + ', "X"]]}', 1, "thousands of digits"),
        ('{"text": "a"} {"text": "b"}', 1, "extra data"),
    ],
    ids=["surrogate-text", "surrogate-key", "deep", "deep-but-balanced", "huge-number", "two-objects"],
)
def test_json_limits_are_one_error_naming_the_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        read(path)
    assert (info.value.path, info.value.line) == (str(path), line)


def test_a_surrogate_pair_escape_is_one_character(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text('{"text": "\\ud83d\\ude00 x", "entities": [[0, 1, "EMOJI"]]}\n', encoding="utf-8")
    assert read(path).documents[0].span_text(Span(0, 1, "EMOJI")) == "😀"


def test_cr_line_ends_and_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    path = tmp_path / "cr.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "a"}\r{"text": "b"}\r\n{"text": "c"}')
    assert [(d.id, d.text) for d in read(path).documents] == [("1", "a"), ("2", "b"), ("3", "c")]


def test_writer_refuses_two_documents_with_one_id(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="two documents have the id 'x'"):
        FORMAT.write([Document("x", "a"), Document("x", "b")], tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
