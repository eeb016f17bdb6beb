"""The Doccano JSONL export reader: both export shapes, sniffing, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nerbench.adapters.data.base import DataFormat, ReadOptions
from nerbench.adapters.data.doccano import FORMAT
from nerbench.errors import InputError
from nerbench.types import Span

TEXT = "Zoë met 🎉 Nguyễn in Hà Nội."
ZOE = (0, len("Zoë"))
NGUYEN = (len("Zoë met 🎉 "), len("Zoë met 🎉 Nguyễn"))


def write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "doccano.jsonl"
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in lines), encoding="utf-8")
    return path


def test_format_implements_the_protocol() -> None:
    assert isinstance(FORMAT, DataFormat)
    assert FORMAT.name == "doccano"


def test_reads_label_triples(tmp_path: Path) -> None:
    path = write(tmp_path, {"id": 12, "text": TEXT, "label": [[*NGUYEN, "PER"], [*ZOE, "PER"]], "Comments": []})
    (doc,) = FORMAT.read(path, ReadOptions()).documents
    assert doc.id == "12"
    assert doc.spans == (Span(*ZOE, "PER"), Span(*NGUYEN, "PER"))
    assert doc.span_text(doc.spans[1]) == "Nguyễn"
    assert doc.meta["Comments"] == []


def test_reads_old_labels_key_and_entity_objects(tmp_path: Path) -> None:
    entities = [{"id": 3, "label": "PER", "start_offset": ZOE[0], "end_offset": ZOE[1]}]
    path = write(
        tmp_path, {"text": TEXT, "labels": [[*NGUYEN, "PER"]]}, {"text": TEXT, "entities": entities, "relations": []}
    )
    docs = FORMAT.read(path, ReadOptions()).documents
    assert [d.id for d in docs] == ["1", "2"]
    assert docs[0].spans == (Span(*NGUYEN, "PER"),)
    assert docs[1].spans == (Span(*ZOE, "PER"),)


def test_sniff_needs_doccano_keys(tmp_path: Path) -> None:
    assert FORMAT.sniff(Path("a.jsonl"), '{"text": "a", "label": [[0, 1, "X"]]}\n')
    assert FORMAT.sniff(Path("a.jsonl"), '{"text": "a", "label": []}\n')
    assert FORMAT.sniff(
        Path("a.jsonl"), '{"text": "a", "entities": [{"label": "X", "start_offset": 0, "end_offset": 1}]}'
    )
    assert not FORMAT.sniff(Path("a.jsonl"), '{"text": "a", "spans": [{"start": 0, "end": 1, "label": "X"}]}\n')
    assert not FORMAT.sniff(Path("a.jsonl"), '{"text": "a", "entities": [[0, 1, "X"]]}\n')
    long_line = write(tmp_path, {"text": "a" * 9000, "label": [[0, 1, "X"]]})
    assert FORMAT.sniff(long_line, long_line.read_text(encoding="utf-8")[:8192])


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        (['{"text": "abc", "label": []}', "{oops"], 2, "invalid JSON"),
        (['{"text": "abc", "label": [[0, 4, "X"]]}'], 1, "outside the text"),
        (['{"text": "abcdef", "label": [[0, 3, "X"], [1, 2, "Y"]]}'], 1, "overlap"),
        (['{"text": "abc", "label": [[0, 3]]}'], 1, r"\[start, end, label\]"),
        (['{"text": "abc", "label": []}', '{"text": 5, "label": []}'], 2, "'text' string"),
        (['{"text": "abc", "entities": [{"label": "X", "start_offset": 0}]}'], 1, "end_offset"),
    ],
)
def test_malformed_lines_name_the_file_and_line(tmp_path: Path, lines: list[str], line: int, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        FORMAT.read(path, ReadOptions())
    assert (info.value.path, info.value.line) == (str(path), line)


def test_empty_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        FORMAT.read(empty, ReadOptions())
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"text": "\xff", "label": []}\n')
    with pytest.raises(InputError, match="not UTF-8") as info:
        FORMAT.read(bad, ReadOptions())
    assert (info.value.path, info.value.line) == (str(bad), 1)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"text": "John", "label": [], "spans": [{"start": 0, "end": 4, "label": "P"}]}, "--format jsonl"),
        ({"text": "John"}, "found none of them"),
        ({"text": "John", "label": [], "entities": []}, "found 'label' and 'entities' both"),
        ({"text": "John", "label": [[0, 4, "  "]]}, "empty or blank label"),
        ({"text": "John", "label": [[0, 4, ""]]}, "empty or blank label"),
        ({"text": "John", "label": "PER"}, "must be a list"),
        (
            {"text": "John", "entities": [{"label": "P", "start_offset": 0, "end_offset": 4, "type": "X"}]},
            "unknown key",
        ),
    ],
)
def test_spans_doccano_does_not_hold_are_errors_not_dropped(tmp_path: Path, line: object, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "ok", "label": []}) + "\n" + json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        FORMAT.read(path, ReadOptions())
    assert (info.value.path, info.value.line) == (str(path), 2)
