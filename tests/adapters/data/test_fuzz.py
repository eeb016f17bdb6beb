"""Every reader fed malformed input: a clean read or a NerbenchError, never another exception, never a hang.

Inputs are random bytes, truncated and mutated valid files, JSON of the wrong types, odd
Unicode (lone surrogates as JSON escapes, line separators, BOMs, NULs) and deep nesting.
A clean read must hold only what nerbench can use: spans inside the text with real labels,
unique ids, no lone surrogates; and it must survive ``nerbench convert`` (JSONL written and
read back unchanged, CoNLL written or refused with a NerbenchError).
"""

from __future__ import annotations

import json
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerbench.adapters.data import read_corpus, write_documents
from nerbench.adapters.data.base import Corpus
from nerbench.adapters.data.jsontext import has_surrogate
from nerbench.errors import NerbenchError

FUZZ = settings(
    max_examples=60,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(FUZZ, max_examples=25)
HANG_SECONDS = 20


class Hang(Exception):
    """A read took longer than any input of this size should."""


@contextmanager
def no_hang(seconds: float = HANG_SECONDS) -> Iterator[None]:
    def fire(signum: int, frame: object) -> None:
        raise Hang(f"no answer in {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_corpus(corpus: Corpus, folder: Path) -> None:
    """What a clean read promises, and that convert can write it."""
    ids = [doc.id for doc in corpus.documents]
    assert len(ids) == len(set(ids))
    for doc in corpus.documents:
        assert not has_surrogate(doc.text) and not has_surrogate(doc.id)
        for span in doc.spans:
            assert 0 <= span.start < span.end <= len(doc.text)
            assert span.label and span.label == span.label.strip() and not has_surrogate(span.label)
    out = folder / "converted.jsonl"
    if not corpus.documents:
        with pytest.raises(NerbenchError, match="no documents to write"):
            write_documents(corpus.documents, out)
        return
    write_documents(corpus.documents, out)
    again = read_corpus(out, format="jsonl").documents
    assert again == corpus.documents
    try:
        write_documents(corpus.documents, folder / "converted.conll")
    except NerbenchError:
        return  # CoNLL cannot hold everything (overlaps, TABs in tokens): refused, not written wrong
    if any(doc.spans for doc in corpus.documents):
        back = read_corpus(folder / "converted.conll", format="conll", scheme="IOB2", repair="error")
        assert back.entity_count == corpus.entity_count


def read_or_refuse(path: Path, fmt: str, folder: Path) -> None:
    """Read ``path`` as ``fmt`` and by detection: each either reads cleanly or raises a NerbenchError."""
    for name in (fmt, "auto"):
        with no_hang():
            try:
                corpus = read_corpus(path, format=name)
            except NerbenchError as err:
                assert "\n" not in str(err)
                continue
            check_corpus(corpus, folder)


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def fuzz_file(fmt: str, name: str, data: bytes) -> None:
    with folder() as tmp:
        path = tmp / name
        path.write_bytes(data)
        read_or_refuse(path, fmt, tmp)


# --- what to feed ---------------------------------------------------------------------------

ODD = [
    "\ufeff", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x00", "\r", "\r\n", "\t", " ", "\u200b",
    "e\u0301", "🇫🇷", "👩‍🔬", "\ud800", "\udfff", "\ud83d\ude00", "中", "-DOCSTART-", ",", "\\", '"',
]  # fmt: skip
ODD_TEXT = st.lists(st.one_of(st.sampled_from(ODD), st.characters()), max_size=12).map("".join)
TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-LOC", "L-LOC", "U-ORG", "B-", "I-", "X-PER", "b-per", "", "PER"]
TAGS += ["B-PER,I-LOC", "B- PER", "O-", "-", "B-PER ", "I-LOC"]
KEYS = ["text", "spans", "entities", "label", "labels", "start", "end", "id", "tokens", "meta", "answer", "data"]
KEYS += ["annotations", "result", "type", "value", "start_offset", "end_offset", "was_cancelled", "annotation_id"]
KEYS += ["native_label", "invalid", "ner_tags", "token_start", "completions", "from_name", "ents"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 40),
    st.integers(),
    st.floats(allow_nan=True),
    ODD_TEXT,
    st.sampled_from(["PER", "LOC", " ", "labels", "B-PER", "accept", "reject"]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), ODD_TEXT), inner, max_size=5),
    ),
    max_leaves=25,
)


@st.composite
def json_text(draw: st.DrawFn, value: st.SearchStrategy[Any] = JSON_VALUES) -> str:
    """A JSON value written the ways files hold it: ASCII-escaped (lone surrogates as \\uXXXX) or not."""
    obj = draw(value)
    ascii_only = draw(st.booleans())
    try:
        return json.dumps(obj, ensure_ascii=ascii_only)
    except ValueError:  # a float json refuses
        return "null"


def encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")  # a raw surrogate: bytes that are not UTF-8


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` cut short, with bytes flipped, dropped or inserted."""
    data = bytearray(valid[: draw(st.integers(0, len(valid)))])
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["flip", "drop", "insert"]))
        if how == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif how == "drop":
            del data[at]
        else:
            data[at:at] = draw(st.sampled_from([b"[", b"{", b'"', b"\t", b"\n", b"\r", b"\xff", b"\x00", b"-"]))
    return bytes(data)


def deep(opening: str) -> st.SearchStrategy[str]:
    return st.tuples(st.integers(90, 50_000), st.integers(0, 200)).map(lambda t: opening * t[0] + "]" * t[1])


TASK = {
    "id": 1,
    "data": {"text": "Paris is nice."},
    "annotations": [
        {"result": [{"type": "labels", "value": {"start": 0, "end": 5, "text": "Paris", "labels": ["LOC"]}}]}
    ],
}
MIN_RECORD = {
    "text": "Paris is nice.",
    "id": 2,
    "label": [{"start": 0, "end": 5, "text": "Paris", "labels": ["LOC"]}],
    "annotator": 1,
    "annotation_id": 1,
    "lead_time": 1.5,
}
VALID = {
    "conll": b"-DOCSTART- -X- O\n\nParis\tB-LOC\nis\tO\nnice\tO\n\nJohn\tB-PER\nSmith\tI-PER\n",
    "jsonl": (
        b'{"id": "a", "text": "Paris is nice.", "spans": [{"start": 0, "end": 5, "label": "LOC"}]}\n'
        b'{"text": "John Smith", "entities": [[0, 10, "PER"]], "tokens": [[0, 4], [5, 10]], "meta": {"k": 1}}\n'
    ),
    "doccano": (
        b'{"id": 1, "text": "Paris is nice.", "label": [[0, 5, "LOC"]]}\n'
        b'{"text": "John", "entities": [{"id": 3, "label": "PER", "start_offset": 0, "end_offset": 4}]}\n'
    ),
    "labelstudio": json.dumps([TASK], indent=1).encode(),
    "labelstudio-min": json.dumps([MIN_RECORD], indent=1).encode(),
    "hf": b'{"id": "r1", "tokens": ["Paris", "is", "nice"], "ner_tags": ["B-LOC", "O", "O"]}\n',
}


# --- text formats ---------------------------------------------------------------------------

TEXT_FORMATS = {"conll": "gold.conll", "jsonl": "gold.jsonl", "doccano": "gold.jsonl", "labelstudio": "gold.json"}


@FUZZ
@given(fmt=st.sampled_from(sorted(TEXT_FORMATS)), data=st.binary(max_size=400))
def test_random_bytes(fmt: str, data: bytes) -> None:
    fuzz_file(fmt, TEXT_FORMATS[fmt], data)


@FUZZ
@given(source=st.sampled_from(sorted(VALID)), data=st.data())
def test_truncated_and_mutated_valid_files(source: str, data: st.DataObject) -> None:
    fmt = {"labelstudio-min": "labelstudio"}.get(source, source)
    name = TEXT_FORMATS.get(fmt, "rows.jsonl")
    fuzz_file(fmt, name, data.draw(mutated(VALID[source])))


@FUZZ
@given(fmt=st.sampled_from(["jsonl", "doccano", "hf"]), lines=st.lists(json_text(), min_size=1, max_size=4))
def test_json_lines_of_any_shape(fmt: str, lines: list[str]) -> None:
    fuzz_file(fmt, "rows.jsonl", encode("\n".join(lines)))


def _shaped(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the right keys (some of them) and values of any type or the right one."""
    return st.fixed_dictionaries({}, optional={k: st.one_of(v, JSON_VALUES) for k, v in fields.items()})


OFFSET = st.integers(-1, 16)
LABEL = st.sampled_from(["PER", "LOC", "", " ", " PER", "P\tX", "A,B", "\ud800"])
SPAN = st.fixed_dictionaries({"start": OFFSET, "end": OFFSET, "label": LABEL}, optional={"text": ODD_TEXT})
TEXT = st.one_of(st.just("Paris is nice."), ODD_TEXT)
JSONL_LINE = _shaped(
    {
        "text": TEXT,
        "spans": st.lists(SPAN, max_size=3),
        "entities": st.lists(st.tuples(OFFSET, OFFSET, LABEL).map(list), max_size=3),
        "id": st.one_of(st.integers(0, 3), st.sampled_from(["a", "b"])),
        "tokens": st.lists(st.tuples(OFFSET, OFFSET).map(list), max_size=3),
        "answer": st.sampled_from(["accept", "reject", "ignore"]),
        "label": st.lists(st.tuples(OFFSET, OFFSET, LABEL).map(list), max_size=3),
    }
)
LS_VALUE = st.fixed_dictionaries({"start": OFFSET, "end": OFFSET, "labels": st.lists(LABEL, max_size=2)})
LS_RESULT = _shaped({"type": st.sampled_from(["labels", "choices", "hypertextlabels"]), "value": LS_VALUE})
LS_TASK = _shaped(
    {
        "id": st.integers(0, 3),
        "data": st.fixed_dictionaries({"text": TEXT}),
        "annotations": st.lists(_shaped({"result": st.lists(LS_RESULT, max_size=3), "was_cancelled": st.booleans()})),
    }
)
LS_MIN = _shaped(
    {"text": TEXT, "id": st.integers(0, 3), "label": st.lists(LS_VALUE, max_size=3), "annotation_id": st.none()}
)


@FUZZ
@given(fmt=st.sampled_from(["jsonl", "doccano"]), lines=st.lists(json_text(JSONL_LINE), min_size=1, max_size=4))
def test_json_lines_near_the_right_shape(fmt: str, lines: list[str]) -> None:
    fuzz_file(fmt, "gold.jsonl", encode("\n".join(lines)))


@FUZZ
@given(
    tasks=json_text(st.lists(st.one_of(LS_TASK, LS_MIN, JSON_VALUES), max_size=3)),
    tail=st.sampled_from(["", " ", "x", "]"]),
)
def test_label_studio_tasks_near_the_right_shape(tasks: str, tail: str) -> None:
    fuzz_file("labelstudio", "export.json", encode(tasks + tail))


@FUZZ
@given(
    fmt=st.sampled_from(["jsonl", "doccano", "labelstudio", "hf"]),
    nesting=st.one_of(
        deep("["), deep('{"a":'), deep('{"text": "a", "meta": ['), deep('[{"data": {"text": "a"}, "x": [')
    ),
)
def test_deep_nesting(fmt: str, nesting: str) -> None:
    fuzz_file(fmt, "deep.json" if fmt == "labelstudio" else "deep.jsonl", nesting.encode())


@FUZZ
@given(
    rows=st.lists(st.lists(st.tuples(ODD_TEXT, st.sampled_from(TAGS)), max_size=5), min_size=1, max_size=4),
    separator=st.sampled_from(["\t", " ", "  "]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
)
def test_conll_token_lines(rows: list[list[tuple[str, str]]], separator: str, newline: str, bom: bool) -> None:
    blocks = [newline.join(f"{token}{separator}{tag}" for token, tag in row) for row in rows]
    text = ("\ufeff" if bom else "") + (newline * 2).join(blocks) + newline
    fuzz_file("conll", "gold.conll", encode(text))


@FUZZ
@given(
    text=ODD_TEXT,
    lines=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["T1", "T2", "T", " T3"]), LABEL, OFFSET, OFFSET, ODD_TEXT).map(
                lambda t: f"{t[0]}\t{t[1]} {t[2]} {t[3]}\t{t[4]}"
            ),
            st.sampled_from(["R1\tRel Arg1:T1 Arg2:T2", "#1\tNote T1\tx", "", "T1\tX 0 1;2 3\tab", "garbage"]),
            ODD_TEXT,
        ),
        max_size=5,
    ),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
)
def test_brat_pairs(text: str, lines: list[str], newline: str, bom: bool) -> None:
    with folder() as tmp:
        (tmp / "doc.txt").write_bytes(encode(text))
        (tmp / "doc.ann").write_bytes(encode(("\ufeff" if bom else "") + newline.join(lines)))
        read_or_refuse(tmp / "doc.ann", "brat", tmp)


@FEW
@given(data=st.binary(max_size=200))
def test_brat_random_bytes(data: bytes) -> None:
    with folder() as tmp:
        (tmp / "doc.txt").write_bytes(data[::2])
        (tmp / "doc.ann").write_bytes(data[1::2])
        read_or_refuse(tmp / "doc.ann", "brat", tmp)


# --- binary formats: parquet and DocBin, truncated and mutated --------------------------------


def _parquet() -> bytes:
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-LOC", "I-LOC"])),
        }
    )
    rows = {"id": ["a", "b"], "tokens": [["Paris", "is"], ["Oslo"]], "ner_tags": [[1, 0], [1]]}
    with folder() as tmp:
        datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp / "t.parquet"))
        return (tmp / "t.parquet").read_bytes()


def _docbin() -> bytes:
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    doc = spacy.blank("en")("Paris is nice.")
    doc.ents = [doc.char_span(0, 5, "LOC")]
    with folder() as tmp:
        DocBin(docs=[doc], store_user_data=True).to_disk(tmp / "d.spacy")
        return (tmp / "d.spacy").read_bytes()


BINARY: dict[str, tuple[str, Callable[[], bytes]]] = {"hf": ("t.parquet", _parquet), "spacy": ("d.spacy", _docbin)}


@pytest.mark.parametrize("fmt", sorted(BINARY))
def test_binary_files_truncated_mutated_or_random(fmt: str) -> None:
    name, make = BINARY[fmt]
    valid = make()

    @FEW
    @given(data=st.one_of(mutated(valid), st.binary(max_size=300)))
    def check(data: bytes) -> None:
        fuzz_file(fmt, name, data)

    check()
