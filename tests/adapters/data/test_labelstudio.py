"""The Label Studio JSON export reader: annotations, cancelled ones, offsets, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nerbench.adapters.data.base import DataFormat, ReadOptions
from nerbench.adapters.data.labelstudio import FORMAT
from nerbench.errors import InputError
from nerbench.types import Span

TEXT = "Kraków 👩‍🔬 meets Ørsted."
ORSTED = (len("Kraków 👩‍🔬 meets "), len("Kraków 👩‍🔬 meets Ørsted"))


def result(start: int, end: int, label: str, text: str | None = None, kind: str = "labels") -> dict[str, Any]:
    value: dict[str, Any] = {"start": start, "end": end, "labels": [label]}
    if text is not None:
        value["text"] = text
    return {"id": "r", "from_name": "label", "to_name": "text", "type": kind, "value": value}


def task(task_id: int, text: str, *results: dict[str, Any], cancelled: bool = False) -> dict[str, Any]:
    return {
        "id": task_id,
        "data": {"text": text},
        "annotations": [{"id": 1, "was_cancelled": cancelled, "result": list(results)}],
        "predictions": [],
    }


def write(tmp_path: Path, tasks: list[Any], indent: int | None = 2) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=indent), encoding="utf-8")
    return path


def test_format_implements_the_protocol() -> None:
    assert isinstance(FORMAT, DataFormat)
    assert FORMAT.name == "labelstudio"


def test_reads_labels_results_with_code_point_offsets(tmp_path: Path) -> None:
    tasks = [
        task(5, TEXT, result(*ORSTED, "ORG", "Ørsted"), result(0, 6, "LOC", "Kraków")),
        task(6, "no entities"),
    ]
    docs = FORMAT.read(write(tmp_path, tasks), ReadOptions()).documents
    assert [d.id for d in docs] == ["5", "6"]
    assert docs[0].spans == (Span(0, 6, "LOC"), Span(*ORSTED, "ORG"))
    assert docs[1].spans == ()


def test_first_non_cancelled_annotation_is_gold_and_unannotated_tasks_are_skipped(tmp_path: Path) -> None:
    first = task(1, TEXT, result(0, 6, "PER"), cancelled=True)
    first["annotations"].append({"id": 2, "result": [result(0, 6, "LOC")]})
    unannotated = {"id": 2, "data": {"text": "nobody looked"}, "annotations": []}
    other = task(
        3,
        TEXT,
        result(0, 6, "LOC"),
        {"type": "choices", "value": {"choices": ["x"]}},
        result(0, 1, "X", kind="hypertextlabels"),
    )
    corpus = FORMAT.read(write(tmp_path, [first, unannotated, other]), ReadOptions())
    assert [(d.id, d.spans) for d in corpus.documents] == [("1", (Span(0, 6, "LOC"),)), ("3", (Span(0, 6, "LOC"),))]
    assert corpus.notes == (
        "1 tasks without a (non-cancelled) annotation were skipped",
        "results of type hypertextlabels were ignored (only 'labels' is read)",
    )


def test_text_key_and_first_string_value(tmp_path: Path) -> None:
    tasks = [{"id": 1, "data": {"meta_id": 3, "body": TEXT}, "annotations": [{"result": [result(0, 6, "LOC")]}]}]
    path = write(tmp_path, tasks)
    assert FORMAT.read(path, ReadOptions()).documents[0].text == TEXT
    tasks[0]["data"]["other"] = "x"
    assert FORMAT.read(path, ReadOptions(extra={"text_key": "body"})).documents[0].text == TEXT


def test_several_labels_on_one_span_follow_the_multi_label_policy(tmp_path: Path) -> None:
    two = result(0, 6, "LOC")
    two["value"]["labels"] = ["LOC", "GPE"]
    path = write(tmp_path, [task(1, TEXT, two)])
    with pytest.raises(InputError, match="several labels"):
        FORMAT.read(path, ReadOptions())
    assert FORMAT.read(path, ReadOptions(multi_label="first")).documents[0].spans == (Span(0, 6, "LOC"),)


def test_utf16_offsets_of_old_exports_are_caught_by_the_text_check(tmp_path: Path) -> None:
    utf16_start = len(TEXT[: ORSTED[0]].encode("utf-16-le")) // 2
    utf16_end = utf16_start + len("Ørsted")
    longer = TEXT + " And more text."
    tasks = [task(1, "ok"), task(2, longer, result(utf16_start, utf16_end, "ORG", "Ørsted"))]
    path = write(tmp_path, tasks)
    with pytest.raises(InputError, match="says its text is 'Ørsted'") as info:
        FORMAT.read(path, ReadOptions())
    second_task_line = 1 + path.read_text(encoding="utf-8").split("\n").index("  {", 2)
    assert (info.value.path, info.value.line) == (str(path), second_task_line)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('[\n  {"data": {"text": "a"}, "annotations": []},\n  {"data": \n]', 4, "invalid JSON"),
        ('{"data": {"text": "a"}}', 1, "expected a JSON array"),
        ('[\n {"data": {"text": "a"}} {"data": {}}\n]', 2, "expected ',' or ']'"),
        ("[\n 1\n]", 2, "expected a task object"),
        ('[\n {"annotations": []}\n]', 2, "no 'data'"),
        (
            '[\n {"data": {"text": "abc"}, "annotations": [{"result": [' + json.dumps(result(1, 9, "X")) + "]}]}\n]",
            2,
            "outside the text",
        ),
        (
            '[{"data": {"text": "abc"}},\n {"data": {"text": "abcdef"}, "annotations": [{"result": ['
            + json.dumps(result(0, 3, "X"))
            + ","
            + json.dumps(result(2, 4, "Y"))
            + "]}]}\n]",
            2,
            "overlap",
        ),
    ],
)
def test_malformed_exports_name_the_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        FORMAT.read(path, ReadOptions())
    assert (info.value.path, info.value.line) == (str(path), line)


def test_empty_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(" \n", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        FORMAT.read(empty, ReadOptions())
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'[\n{"data": {"text": "\xe9"}}]')
    with pytest.raises(InputError, match="not UTF-8") as info:
        FORMAT.read(bad, ReadOptions())
    assert (info.value.path, info.value.line) == (str(bad), 2)


def test_an_empty_array_is_an_empty_corpus(tmp_path: Path) -> None:
    assert FORMAT.read(write(tmp_path, []), ReadOptions()).documents == ()


def test_sniff_wants_an_array_of_tasks() -> None:
    assert FORMAT.sniff(Path("e.json"), '[{"id": 1, "data": {"text": "a"}, "annotations": []}]')
    assert not FORMAT.sniff(Path("e.json"), '{"text": "a", "spans": []}')


# --- hardening: results of another type, trailing data, limits ---------------------------------


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        ({"result": {"type": "labels", "value": {"start": 0, "end": 1, "labels": ["X"]}}}, "found an object"),
        ({"result": "PER"}, "'result' must be a list, found a string"),
        ({"id": 3}, "'result' must be a list, found none"),
        ({"result": ["PER"]}, "a result must be an object with a 'type' string"),
        ({"result": [{"value": {"start": 0, "end": 1, "labels": ["X"]}}]}, "with a 'type' string"),
        ({"result": [{"type": "labels", "value": {"start": 0, "end": 1, "labels": [" "]}}]}, "blank label"),
    ],
)
def test_a_result_that_is_not_a_list_of_typed_objects_is_an_error(
    tmp_path: Path, annotation: dict[str, Any], message: str
) -> None:
    path = write(tmp_path, [task(1, "ok"), {"id": 2, "data": {"text": TEXT}, "annotations": [annotation]}], None)
    with pytest.raises(InputError, match=message) as info:
        FORMAT.read(path, ReadOptions())
    assert info.value.path == str(path) and info.value.line == 1


@pytest.mark.parametrize(
    ("task_value", "message"),
    [
        ({"data": {"text": "a"}, "annotations": {"result": []}}, "'annotations' must be a list, found an object"),
        ({"data": {"text": "a"}, "annotations": ["x"]}, "an annotation must be an object"),
        ({"data": {"text": 5}, "annotations": []}, "task data 'text' must be a string, found a number"),
    ],
)
def test_annotations_and_data_of_another_type_are_errors(tmp_path: Path, task_value: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        FORMAT.read(write(tmp_path, [task_value]), ReadOptions())


@pytest.mark.parametrize("tail", ["x", "]", "[]", '{"id": 2}', ", {}"])
def test_anything_but_whitespace_after_the_array_is_an_error(tmp_path: Path, tail: str) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([task(1, "a")]) + "\n\n" + tail, encoding="utf-8")
    with pytest.raises(InputError, match="extra data after the array") as info:
        FORMAT.read(path, ReadOptions())
    assert info.value.line == 3


def test_deep_nesting_and_lone_surrogates_name_the_task(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text("[\n" + json.dumps(task(1, "a")) + ",\n" + "[" * 50_000, encoding="utf-8")
    with pytest.raises(InputError, match="nested deeper than 100 levels") as info:
        FORMAT.read(path, ReadOptions())
    assert info.value.line == 3
    path.write_text('[\n{"id": 1, "data": {"text": "a\\udc00"}, "annotations": []}\n]', encoding="utf-8")
    with pytest.raises(InputError, match="lone surrogate") as info:
        FORMAT.read(path, ReadOptions())
    assert info.value.line == 2


# --- JSON-MIN -------------------------------------------------------------------------------


def record(task_id: int, text: str, *regions: tuple[int, int, str], annotation_id: int | None = 1) -> dict[str, Any]:
    """A JSON-MIN record as Label Studio writes it: data keys, id, regions under the control's name."""
    out: dict[str, Any] = {"text": text, "id": task_id}
    if regions:
        out["label"] = [{"start": a, "end": b, "text": text[a:b], "labels": [label]} for a, b, label in regions]
    out.update(annotator=1, annotation_id=annotation_id, created_at="2024-05-01T10:00:00Z", lead_time=3.5)
    return out


def test_reads_json_min_records(tmp_path: Path) -> None:
    records = [
        record(5, TEXT, (*ORSTED, "ORG"), (0, 6, "LOC")),
        record(5, TEXT, (0, 6, "PER"), annotation_id=2),  # an older annotation of the same task
        record(6, "no entities"),
        {"text": "never annotated", "id": 7, "annotator": None, "annotation_id": None, "lead_time": None},
    ]
    path = write(tmp_path, records)
    assert FORMAT.sniff(path, path.read_text(encoding="utf-8")[:8192])
    corpus = FORMAT.read(path, ReadOptions())
    assert [(d.id, d.spans) for d in corpus.documents] == [
        ("5", (Span(0, 6, "LOC"), Span(*ORSTED, "ORG"))),
        ("6", ()),
    ]
    assert corpus.notes == (
        "1 tasks without a (non-cancelled) annotation were skipped",
        "1 further annotations of a task were skipped (its first record is gold)",
    )


def test_json_min_reads_every_labels_control_and_counts_other_region_types(tmp_path: Path) -> None:
    rec = record(1, TEXT, (0, 6, "LOC"))
    rec["ner2"] = [{"start": ORSTED[0], "end": ORSTED[1], "labels": ["ORG"]}]
    rec["html"] = [{"start": "/p[1]", "end": "/p[1]", "startOffset": 0, "endOffset": 1, "hypertextlabels": ["X"]}]
    rec["tags"] = ["news"]  # data, not regions
    corpus = FORMAT.read(write(tmp_path, [rec]), ReadOptions())
    assert corpus.documents[0].spans == (Span(0, 6, "LOC"), Span(*ORSTED, "ORG"))
    assert corpus.notes == ("results of type hypertextlabels were ignored (only 'labels' is read)",)


def test_json_min_text_key_surface_check_and_shapes_not_mixed(tmp_path: Path) -> None:
    rec = record(1, TEXT, (0, 6, "LOC"))
    rec["body"] = rec.pop("text")
    assert FORMAT.read(write(tmp_path, [rec]), ReadOptions(extra={"text_key": "body"})).documents[0].text == TEXT
    bad = record(1, TEXT, (0, 5, "LOC"))
    bad["label"][0]["text"] = "Kraków"
    with pytest.raises(InputError, match="says its text is 'Kraków'"):
        FORMAT.read(write(tmp_path, [bad]), ReadOptions())
    with pytest.raises(InputError, match="the first task is in the JSON-MIN shape, this one in JSON"):
        FORMAT.read(write(tmp_path, [record(1, "a"), task(2, "b")]), ReadOptions())
    with pytest.raises(InputError, match="needs 'start', 'end' and 'labels'"):
        FORMAT.read(write(tmp_path, [{"text": "a", "label": [{"start": 0, "labels": ["X"]}]}]), ReadOptions())


def test_sniff_recognises_json_min_even_after_a_long_text(tmp_path: Path) -> None:
    long = record(1, "a" * 20_000 + " Paris", (20_001, 20_006, "LOC"))
    path = write(tmp_path, [long])
    assert FORMAT.sniff(path, path.read_text(encoding="utf-8")[:8192])
    assert not FORMAT.sniff(Path("x.json"), '[{"text": "a", "spans": []}]')
    assert not FORMAT.sniff(Path("x.json"), "[1, 2]")
