"""The BRAT standoff reader: pairs, directories, discontinuous spans, text checks, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from nerbench.adapters.data.base import DataFormat, ReadOptions
from nerbench.adapters.data.brat import FORMAT
from nerbench.errors import InputError
from nerbench.types import Span

TEXT = "Émile Zola\nlived in Paris 🗼.\n"
PARIS = (len("Émile Zola\nlived in "), len("Émile Zola\nlived in Paris"))


def pair(folder: Path, stem: str, text: str, ann: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.txt").write_bytes(text.encode("utf-8"))
    (folder / f"{stem}.ann").write_bytes(ann.encode("utf-8"))
    return folder / f"{stem}.ann"


ANN = (
    f"T1\tPerson 0 10\tÉmile Zola\n"
    f"T2\tLocation {PARIS[0]} {PARIS[1]}\tParis\n"
    "R1\tLives Arg1:T1 Arg2:T2\n"
    "A1\tNegated T1\n"
    "#1\tAnnotatorNotes T1\ta note\n"
    "T3\tPerson 0 5;6 10\tÉmile Zola\n"
)


def test_format_implements_the_protocol() -> None:
    assert isinstance(FORMAT, DataFormat)
    assert FORMAT.name == "brat"


@pytest.mark.parametrize("which", [".ann", ".txt"])
def test_reads_a_pair_from_either_file(tmp_path: Path, which: str) -> None:
    ann = pair(tmp_path, "zola", TEXT, ANN)
    corpus = FORMAT.read(ann.with_suffix(which), ReadOptions())
    (doc,) = corpus.documents
    assert doc.id == "zola"
    assert doc.text == TEXT
    assert doc.spans == (Span(0, 10, "Person"), Span(*PARIS, "Location"))
    assert corpus.notes == ("1 discontinuous annotations were skipped (no single span)",)


def test_reads_a_directory_of_pairs_and_skips_unpaired_texts(tmp_path: Path) -> None:
    pair(tmp_path, "b", "Berlin", "T1\tLOC 0 6\tBerlin\n")
    pair(tmp_path / "sub", "a", "nobody", "")
    (tmp_path / "lonely.txt").write_text("no annotations file", encoding="utf-8")
    (tmp_path / "annotation.conf").write_text("[entities]\nLOC\n", encoding="utf-8")
    corpus = FORMAT.read(tmp_path, ReadOptions())
    assert [(d.id, d.spans) for d in corpus.documents] == [("b", (Span(0, 6, "LOC"),)), ("sub/a", ())]
    assert corpus.notes == ("1 .txt files without an .ann were skipped",)


def test_line_breaks_in_a_span_read_as_spaces_and_crlf_ann_lines_work(tmp_path: Path) -> None:
    ann = pair(tmp_path, "d", TEXT, "T1\tPerson 0 16\tÉmile Zola lived\r\n")
    assert FORMAT.read(ann, ReadOptions()).documents[0].spans == (Span(0, 16, "Person"),)


def test_a_leading_bom_counts_as_text(tmp_path: Path) -> None:
    ann = pair(tmp_path, "bom", "\ufeffRome", "T1\tLOC 1 5\tRome\n")
    doc = FORMAT.read(ann, ReadOptions()).documents[0]
    assert doc.span_text(doc.spans[0]) == "Rome"


def test_nested_entities_need_overlaps_allow(tmp_path: Path) -> None:
    ann = pair(tmp_path, "n", "University of Paris", "T1\tORG 0 19\tUniversity of Paris\nT2\tLOC 14 19\tParis\n")
    with pytest.raises(InputError, match="overlaps='allow'") as info:
        FORMAT.read(ann, ReadOptions())
    assert (info.value.path, info.value.line) == (str(ann), 2)
    assert len(FORMAT.read(ann, ReadOptions(overlaps="allow")).documents[0].spans) == 2


@pytest.mark.parametrize(
    ("ann", "line", "message"),
    [
        ("T1\tPerson 0 10\tÉmile Zola\nT2\tLocation 0 5\tParis\n", 2, "says its text is 'Paris'"),
        ("T1\tPerson 0 99\tÉmile Zola\n", 1, "outside the text"),
        ("\n\nT1\tPerson 0 10 Émile Zola\n", 3, "malformed text-bound annotation"),
        ("T1\tPerson 4 2\tx\n", 1, "or empty"),
    ],
)
def test_bad_annotations_name_the_ann_file_and_line(tmp_path: Path, ann: str, line: int, message: str) -> None:
    path = pair(tmp_path, "bad", TEXT, ann)
    with pytest.raises(InputError, match=message) as info:
        FORMAT.read(path, ReadOptions())
    assert (info.value.path, info.value.line) == (str(path), line)


def test_missing_partner_empty_directory_and_non_utf8_are_refused(tmp_path: Path) -> None:
    (tmp_path / "alone.ann").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="side by side") as info:
        FORMAT.read(tmp_path / "alone.ann", ReadOptions())
    assert info.value.path == str(tmp_path / "alone.txt")
    with pytest.raises(InputError, match="no BRAT"):
        FORMAT.read(_empty_dir(tmp_path), ReadOptions())
    ann = pair(tmp_path, "latin", "ok", "T1\tX 0 2\tok\n")
    ann.write_bytes(b"T1\tX 0 2\tok\nT2\tY 0 1\t\xe9\n")
    with pytest.raises(InputError, match="not UTF-8") as info:
        FORMAT.read(ann, ReadOptions())
    assert (info.value.path, info.value.line) == (str(ann), 2)


def _empty_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_sniff_recognises_ann_txt_with_partner_and_directories(tmp_path: Path) -> None:
    ann = pair(tmp_path / "corpus", "z", TEXT, ANN)
    assert FORMAT.sniff(ann, "")
    assert FORMAT.sniff(ann.with_suffix(".txt"), TEXT)
    assert FORMAT.sniff(tmp_path / "corpus", "")
    (tmp_path / "plain.txt").write_text("just text", encoding="utf-8")
    assert not FORMAT.sniff(tmp_path / "plain.txt", "just text")


# --- hardening ------------------------------------------------------------------------------


def test_a_byte_order_mark_opening_the_ann_is_not_part_of_the_first_line(tmp_path: Path) -> None:
    ann = pair(tmp_path, "d", TEXT, "\ufeff" + ANN)
    assert FORMAT.read(ann, ReadOptions()).documents[0].spans == (
        Span(0, 10, "Person"),
        Span(*PARIS, "Location"),
    )


def test_cr_only_ann_lines_are_lines(tmp_path: Path) -> None:
    ann = pair(tmp_path, "d", TEXT, f"T1\tPerson 0 10\tÉmile Zola\rT2\tLocation {PARIS[0]} {PARIS[1]}\tParis\r")
    assert len(FORMAT.read(ann, ReadOptions()).documents[0].spans) == 2


def test_an_ann_that_is_a_directory_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "d.ann").mkdir()
    with pytest.raises(InputError, match="is a directory, expected a file") as info:
        FORMAT.read(tmp_path / "d.txt", ReadOptions())
    assert info.value.path == str(tmp_path / "d.ann")


@pytest.mark.parametrize(
    ("ann", "message"),
    [
        (" T1\tPerson 0 10\tÉmile Zola\n", "unknown annotation line"),
        ("Zola\n", "unknown annotation line"),
        ("T1\tPerson 0 " + "1" * 30 + "\tx\n", "malformed text-bound annotation"),
    ],
    ids=["indented", "prose", "huge-offset"],
)
def test_a_line_that_is_no_annotation_is_an_error_not_skipped(tmp_path: Path, ann: str, message: str) -> None:
    path = pair(tmp_path, "bad", TEXT, "R1\tLives Arg1:T1 Arg2:T2\n*\tEquiv T1 T2\n\n" + ann)
    with pytest.raises(InputError, match=message) as info:
        FORMAT.read(path, ReadOptions())
    assert (info.value.path, info.value.line) == (str(path), 4)


def test_a_utf16_ann_says_so_and_nul_text_is_still_text(tmp_path: Path) -> None:
    ann = pair(tmp_path, "d", "a\x00b\x00c\x00d\x00e\x00", "")
    assert FORMAT.read(ann, ReadOptions()).documents[0].text == "a\x00b\x00c\x00d\x00e\x00"  # a .txt is data
    ann.write_bytes("T1\tX 0 1\ta\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        FORMAT.read(ann, ReadOptions())
