"""Bad gold files met through the CLI, as a user meets them: one line naming the file, exit 2, no traceback.

Each case is a file (or folder) an adversarial tester made, that once gave a traceback or a
silent wrong read. ``nerbench convert`` and ``nerbench score`` must say the same line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

NERBENCH = [sys.executable, "-m", "nerbench.cli"]
Make = Callable[[Path], tuple[Path, list[str]]]  # writes the case, returns the path and reader flags


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NERBENCH, *map(str, args)], capture_output=True, text=True, timeout=120)


def _file(name: str, content: str | bytes, *flags: str) -> Make:
    def make(tmp_path: Path) -> tuple[Path, list[str]]:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path, list(flags)

    return make


def _ann_directory(tmp_path: Path) -> tuple[Path, list[str]]:
    (tmp_path / "doc.txt").write_text("Paris", encoding="utf-8")
    (tmp_path / "doc.ann").mkdir()
    return tmp_path / "doc.txt", ["--format", "brat"]


def _hf_empty_info(tmp_path: Path) -> tuple[Path, list[str]]:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "dataset_info.json").write_text("", encoding="utf-8")
    return folder, ["--format", "hf"]


def _hf_bad_state(tmp_path: Path) -> tuple[Path, list[str]]:
    folder, flags = _hf_empty_info(tmp_path)
    (folder / "state.json").write_text("{", encoding="utf-8")
    return folder, flags


def _hf_duplicate_ids(tmp_path: Path) -> tuple[Path, list[str]]:
    rows = [{"id": "a", "tokens": ["Oslo"], "ner_tags": ["B-LOC"]}, {"id": "a", "tokens": ["Rome"], "ner_tags": ["O"]}]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path, ["--format", "hf"]


DEEP = "[" * 100_000
LS_TASK = {"id": 1, "data": {"text": "John"}, "annotations": [{"result": []}]}

CASES: dict[str, tuple[Make, str, int | None]] = {
    "jsonl-deep-nesting": (_file("deep.jsonl", DEEP, "--format", "jsonl"), "nested deeper than", 1),
    "labelstudio-deep-nesting": (_file("deep.json", DEEP, "--format", "labelstudio"), "nested deeper than", 1),
    "jsonl-lone-surrogate": (_file("s.jsonl", '{"text": "a\\ud800b", "spans": []}\n'), "lone surrogate", 1),
    "doccano-lone-surrogate": (
        _file("s.jsonl", '{"text": "ab", "label": [[0, 1, "P\\udfff"]]}\n', "--format", "doccano"),
        "lone surrogate",
        1,
    ),
    "labelstudio-lone-surrogate": (
        _file("s.json", '[\n{"data": {"text": "\\ud83d"}, "annotations": []}]', "--format", "labelstudio"),
        "lone surrogate",
        2,
    ),
    "parquet-empty": (_file("e.parquet", b""), "parquet", None),
    "parquet-corrupt": (_file("c.parquet", b"PAR1 not really parquet PAR1"), "parquet", None),
    "hf-empty-dataset-info": (_hf_empty_info, "save_to_disk", None),
    "hf-corrupt-state": (_hf_bad_state, "save_to_disk", None),
    "hf-mistyped-path": (_file("unused", "", "--format", "hf"), "no such file", None),
    "hf-duplicate-ids": (_hf_duplicate_ids, "duplicate id 'a'", 2),
    "brat-ann-is-a-directory": (_ann_directory, "is a directory", None),
    "conll-only-bare-b": (_file("b.conll", "John\tB-\nSmith\tO\n", "--format", "conll"), "malformed tag 'B-'", 1),
    "conll-only-bare-i": (_file("i.conll", "John\tI-\n", "--format", "conll"), "malformed tag 'I-'", 1),
    "conll-only-x-prefix": (_file("x.conll", "John\tX-PER\nSmith\tO\n"), "malformed tag 'X-PER'", 1),
    "jsonl-label-string": (_file("l.jsonl", '{"text": "John", "label": "PER"}\n'), "key 'label'", 1),
    "jsonl-spans-number": (_file("n.jsonl", '{"text": "John", "spans": 0}\n'), "'spans' must be a list", 1),
    "jsonl-unknown-span-key": (
        _file("k.jsonl", '{"text": "John", "spans": [{"start": 0, "end": 4, "label": "X", "type": "PER"}]}\n'),
        "unknown key(s) 'type'",
        1,
    ),
    "doccano-with-spans": (
        _file(
            "d.jsonl",
            '{"text": "John", "label": [], "spans": [{"start": 0, "end": 4, "label": "PER"}]}\n',
            "--format",
            "doccano",
        ),
        "key 'spans' is not Doccano's",
        1,
    ),
    "doccano-blank-label": (_file("w.jsonl", '{"text": "John", "label": [[0, 4, "  "]]}\n'), "blank label", 1),
    "labelstudio-result-object": (
        _file("r.json", json.dumps([{**LS_TASK, "annotations": [{"result": {"type": "labels"}}]}])),
        "'result' must be a list",
        1,
    ),
    "labelstudio-result-string": (
        _file("r.json", json.dumps([{**LS_TASK, "annotations": [{"result": "PER"}]}])),
        "'result' must be a list",
        1,
    ),
    "labelstudio-trailing-garbage": (_file("t.json", json.dumps([LS_TASK]) + "\n]x"), "extra data", 2),
    "utf16-with-bom": (_file("u.conll", "John\tB-PER\n".encode("utf-16")), "UTF-16", None),
    "utf16-without-bom": (_file("u.conll", "John\tB-PER\n".encode("utf-16-le")), "UTF-16", None),
    "empty-file": (_file("e.jsonl", b""), "empty", None),
    "number-with-5000-digits": (
        _file("n.jsonl", '{"text": "ab", "entities": [[0, 1' + "0" * 5000 + ', "X"]]}\n', "--format", "jsonl"),
        "digits",
        1,
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_gold_is_one_line_exit_2_in_convert_and_score(tmp_path: Path, case: str) -> None:
    make, needle, line = CASES[case]
    source, flags = make(tmp_path)
    if case == "hf-mistyped-path":
        source = tmp_path / "data" / "tset.parquet"  # a typo: nothing there, and not a hub name
    target = tmp_path / "out.jsonl"
    convert_flags = ["--from" if f == "--format" else f for f in flags]
    messages = []
    for args in (["convert", source, target, *convert_flags], ["score", "--gold", source, "--pred", source, *flags]):
        proc = run(*args)
        assert proc.returncode == 2, proc.stderr
        message = proc.stderr.strip()
        assert len(message.splitlines()) == 1 and "Traceback" not in message, message
        named = source.with_suffix(".ann") if case.startswith("brat") else source  # the file at fault
        assert str(named) in message and needle in message, message
        if line is not None:
            assert f"{source}:{line}:" in message, message
        messages.append(message)
    assert messages[0] == messages[1]  # every command says the same thing
    assert not target.exists()


def test_convert_to_a_directory_is_one_line_and_leaves_it_alone(tmp_path: Path) -> None:
    gold, folder = tmp_path / "g.conll", tmp_path / "out"
    gold.write_text("John\tB-PER\n", encoding="utf-8")
    folder.mkdir()
    proc = run("convert", gold, folder)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{folder}: " in proc.stderr and "directory" in proc.stderr
    assert list(folder.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["g.conll", "out"]


def test_brat_ann_with_a_byte_order_mark_keeps_its_first_annotation(tmp_path: Path) -> None:
    (tmp_path / "doc.txt").write_text("Paris and Rome", encoding="utf-8")
    (tmp_path / "doc.ann").write_bytes("\ufeffT1\tLOC 0 5\tParis\nT2\tLOC 10 14\tRome\n".encode())
    proc = run("convert", tmp_path / "doc.ann", tmp_path / "out.jsonl")
    assert proc.returncode == 0, proc.stderr
    assert "1 documents, 2 spans" in proc.stdout


def test_conll_with_cr_line_endings_reads_as_with_lf(tmp_path: Path) -> None:
    lf = "John\tB-PER\nSmith\tI-PER\n\nParis\tB-LOC\n"
    (tmp_path / "lf.conll").write_text(lf, encoding="utf-8", newline="")
    (tmp_path / "cr.conll").write_text(lf.replace("\n", "\r"), encoding="utf-8", newline="")
    outs = []
    for name in ("lf", "cr"):
        proc = run("convert", tmp_path / f"{name}.conll", tmp_path / f"{name}.jsonl", "--from", "conll")
        assert proc.returncode == 0 and "2 documents, 2 spans" in proc.stdout, proc.stderr
        outs.append([json.loads(line) for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()])
    assert [d["spans"] for d in outs[0]] == [d["spans"] for d in outs[1]]


def test_hf_duplicate_ids_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    source, _ = _hf_duplicate_ids(tmp_path)
    proc = run("convert", source, tmp_path / "out.jsonl", "--from", "hf")
    assert proc.returncode == 2 and "duplicate id 'a' (row 1 has it too)" in proc.stderr
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bom.jsonl", '\ufeff{"text": "John", "spans": [{"start": 0, "end": 4, "label": "PER"}]}\n'),
        ("bom.json", "\ufeff" + json.dumps([{"id": 1, "data": {"text": "John"}, "annotations": [{"result": []}]}])),
        ("long.conll", "x" * 9000 + "\tB-PER\nSmith\tI-PER\n"),
        ("long.txt", "x" * 9000 + "\tB-PER\nSmith\tI-PER\n"),
    ],
    ids=["jsonl-bom", "labelstudio-bom", "conll-first-line-over-8kb", "txt-first-line-over-8kb"],
)
def test_format_detection_reads_what_it_once_refused(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    proc = run("convert", path, tmp_path / "out.jsonl")
    assert proc.returncode == 0, proc.stderr
    assert "wrote 1 documents" in proc.stdout
