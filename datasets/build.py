"""Build the shipped gold sets from their markup sources (standard library only).

Usage::

    python datasets/build.py                 # rewrite datasets/<set>/{train,test}.jsonl in place
    python datasets/build.py --out DIR       # write DIR/<set>/{train,test}.jsonl instead
    python datasets/build.py --stats         # also print per-set/per-split counts (Markdown)

Every ``datasets/<set>/source.txt`` is one set. The markup (see datasets/README.md):

* ``; ...``                a comment line (ignored);
* ``@set NAME``            the set's name, used in document ids;
* ``@labels A B C``        the label list; any other label is an error;
* ``@split train|test``    the split of the documents that follow;
* ``@doc GENRE [nl]``      starts a document; its id is ``NAME-SPLIT-NNN-GENRE`` (NNN counts
                           documents within the split, from 001); with ``nl`` its lines are joined
                           with a newline, otherwise with a single space;
* any other non-blank line is one sentence of the current document; blank lines are ignored;
* ``[surface text|LABEL]`` marks an entity; ``\\[``, ``\\]``, ``\\|``, ``\\@``, ``\\;`` and ``\\\\``
  escape the literal character (a line may not start with a bare ``@`` or ``;``).

Output is deterministic: one JSON object per line, keys ``id``, ``text``, ``spans`` in that order,
``ensure_ascii=False``, UTF-8, ``\\n`` line endings, offsets in code points (Python ``str`` indices).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLITS = ("train", "test")
_ESCAPABLE = "[]|@;\\"


class MarkupError(ValueError):
    """A source line that does not follow the markup."""


@dataclass
class Doc:
    genre: str
    split: str
    joiner: str
    line: int
    sentences: list[tuple[str, list[tuple[int, int, str]]]] = field(default_factory=list)


@dataclass
class Dataset:
    name: str
    labels: tuple[str, ...]
    docs: list[Doc]

    def records(self, split: str) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for number, doc in enumerate((d for d in self.docs if d.split == split), start=1):
            text_parts: list[str] = []
            spans: list[dict[str, object]] = []
            offset = 0
            for index, (sentence, sentence_spans) in enumerate(doc.sentences):
                if index:
                    text_parts.append(doc.joiner)
                    offset += len(doc.joiner)
                text_parts.append(sentence)
                spans.extend({"start": offset + s, "end": offset + e, "label": lab} for s, e, lab in sentence_spans)
                offset += len(sentence)
            out.append(
                {"id": f"{self.name}-{split}-{number:03d}-{doc.genre}", "text": "".join(text_parts), "spans": spans}
            )
        return out


def parse_line(line: str, labels: tuple[str, ...], where: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Parse one sentence of markup into its plain text and ``(start, end, label)`` spans."""
    text: list[str] = []
    spans: list[tuple[int, int, str]] = []
    entity: list[str] | None = None  # surface characters while inside [...]
    label: list[str] | None = None  # label characters after the | inside [...]
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            if i + 1 >= len(line) or line[i + 1] not in _ESCAPABLE:
                raise MarkupError(f"{where}: bad escape at column {i + 1}")
            ch = line[i + 1]
            i += 2
            if label is not None:
                raise MarkupError(f"{where}: escape inside a label at column {i}")
            (entity if entity is not None else text).append(ch)
            continue
        i += 1
        if ch == "[":
            if entity is not None:
                raise MarkupError(f"{where}: nested '[' at column {i}")
            entity = []
        elif ch == "|" and entity is not None and label is None:
            label = []
        elif ch == "]" and entity is not None:
            if label is None:
                raise MarkupError(f"{where}: entity without '|LABEL' at column {i}")
            surface, name = "".join(entity), "".join(label)
            if name not in labels:
                raise MarkupError(f"{where}: unknown label {name!r}")
            if not surface or surface != surface.strip():
                raise MarkupError(f"{where}: empty entity or whitespace at its edge: {surface!r}")
            start = len("".join(text))
            text.append(surface)
            spans.append((start, start + len(surface), name))
            entity = label = None
        elif label is not None:
            label.append(ch)
        elif entity is not None:
            entity.append(ch)
        elif ch == "]":
            raise MarkupError(f"{where}: unbalanced ']' at column {i}")
        else:
            text.append(ch)
    if entity is not None:
        raise MarkupError(f"{where}: unclosed '['")
    return "".join(text), spans


def parse_source(path: Path) -> Dataset:
    """Read one ``source.txt`` into a :class:`Dataset`."""
    name: str | None = None
    labels: tuple[str, ...] = ()
    split: str | None = None
    docs: list[Doc] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path}:{number}"
        line = raw.rstrip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("@"):
            directive, *args = line[1:].split()
            if directive == "set" and len(args) == 1:
                name = args[0]
            elif directive == "labels" and args:
                labels = tuple(args)
            elif directive == "split" and len(args) == 1 and args[0] in SPLITS:
                split = args[0]
            elif directive == "doc" and 1 <= len(args) <= 2 and args[1:] in ([], ["nl"]):
                if name is None or not labels or split is None:
                    raise MarkupError(f"{where}: @set, @labels and @split must come before the first @doc")
                docs.append(Doc(args[0], split, "\n" if args[1:] else " ", number))
            else:
                raise MarkupError(f"{where}: bad directive {line!r}")
            continue
        if not docs:
            raise MarkupError(f"{where}: text before the first @doc")
        docs[-1].sentences.append(parse_line(line, labels, where))
    if name is None:
        raise MarkupError(f"{path}: no @set")
    for doc in docs:
        if not doc.sentences:
            raise MarkupError(f"{path}:{doc.line}: empty document")
    return Dataset(name, labels, docs)


def dump(records: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def sources(root: Path = HERE) -> list[Path]:
    return sorted(root.glob("*/source.txt"))


def stats(dataset: Dataset) -> str:
    rows = [f"### {dataset.name}", "", "| split | documents | sentences | characters | " + " | ".join(dataset.labels)]
    rows[-1] += " | entities |"
    rows.append("|" + "---|" * (5 + len(dataset.labels)))
    for split in (*SPLITS, "all"):
        docs = [d for d in dataset.docs if split in ("all", d.split)]
        counts = Counter(lab for d in docs for _, spans in d.sentences for *_, lab in spans)
        chars = sum(len(d.joiner.join(s for s, _ in d.sentences)) for d in docs)
        cells = [split, str(len(docs)), str(sum(len(d.sentences) for d in docs)), str(chars)]
        cells += [str(counts[lab]) for lab in dataset.labels] + [str(sum(counts.values()))]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def build(out: Path, root: Path = HERE, show_stats: bool = False) -> list[Path]:
    """Write ``out/<set>/<split>.jsonl`` for every source under ``root``; return the files written."""
    written: list[Path] = []
    for source in sources(root):
        dataset = parse_source(source)
        target = out / source.parent.name
        target.mkdir(parents=True, exist_ok=True)
        for split in SPLITS:
            path = target / f"{split}.jsonl"
            path.write_bytes(dump(dataset.records(split)).encode("utf-8"))
            written.append(path)
        if show_stats:
            sys.stdout.write(stats(dataset) + "\n")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: datasets/ itself)")
    parser.add_argument("--stats", action="store_true", help="print counts per set, split and label")
    args = parser.parse_args(argv)
    try:
        build(args.out, show_stats=args.stats)
    except MarkupError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
