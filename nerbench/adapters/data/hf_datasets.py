"""Hugging Face ``datasets`` token-classification data: ``tokens`` + ``ner_tags`` columns.

Sources
    a directory written by ``save_to_disk`` (a Dataset, or a DatasetDict whose split is
    ``ReadOptions.split``, else ``"test"`` when present, else the only one); a local
    ``.parquet`` file (``to_parquet`` keeps the features); a local ``.json``/``.jsonl``
    file (name the format: ``--format hf``); or, for users online, a hub dataset name
    such as ``conll2003``, given as the path with ``--format hf``.

Columns
    ``tokens`` and ``ner_tags`` (or ``ReadOptions.extra["tokens_column"]`` /
    ``["tags_column"]``). Integer tags are named by the column's ``ClassLabel`` feature
    (or by ``extra["tag_names"]``, comma-separated, where the feature has none); string
    tags are used as they are. Tags are decoded by :mod:`nerbench.tagging` under the
    scheme in the options or the one detected over the whole split; repairs are counted.
    An ``id`` column gives the ids (else the row number, from 1).

Text and offsets follow the CoNLL reader: tokens joined with single spaces,
``Document.tokens`` their code-point offsets; an entity over empty tokens only has no
character span and is skipped and counted in ``Corpus.notes``.

``datasets`` is an optional dependency, imported when a source is read.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerbench.adapters.data.base import Corpus, ReadOptions
from nerbench.errors import InputError, MissingExtraError
from nerbench.tagging import TagError, detect_scheme, tags_to_chunks
from nerbench.types import Document, Span

_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")


def _import_datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise MissingExtraError("datasets", "hf-datasets") from None
    return datasets


@contextmanager
def _quiet(datasets: Any) -> Iterator[None]:
    """No progress bars while reading (restored afterwards)."""
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def _pick_split(splits: Sequence[str], wanted: str | None, path: Path) -> str:
    """The split to read: the one asked for, else ``test``, else the only one."""
    if wanted is not None and wanted in splits:
        return wanted
    if wanted is None and "test" in splits:
        return "test"
    if wanted is None and len(splits) == 1:
        return splits[0]
    asked = f"no split {wanted!r}" if wanted else "several splits and none is 'test'"
    raise InputError(f"{asked}: choose one of {', '.join(splits)} with split=...", path=path)


def _load(path: Path, options: ReadOptions, datasets: Any) -> Any:
    """The one Dataset (split) that ``path`` names."""
    if path.is_dir():
        if not any((path / marker).is_file() for marker in _MARKERS):
            raise InputError("not a directory written by datasets' save_to_disk (no dataset_info.json)", path=path)
        loaded = datasets.load_from_disk(str(path))
    elif path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq
        from datasets.table import InMemoryTable

        loaded = datasets.Dataset(InMemoryTable(pq.read_table(path)))
    elif path.suffix.lower() in (".json", ".jsonl"):
        with tempfile.TemporaryDirectory() as cache:  # held in memory: leave no cache behind
            loaded = datasets.Dataset.from_json(str(path), keep_in_memory=True, cache_dir=cache)
    elif path.exists():
        raise InputError("expected a save_to_disk directory, a .parquet or a .json(l) file", path=path)
    else:
        return _load_hub(str(path), options, datasets)
    if isinstance(loaded, datasets.DatasetDict):
        return loaded[_pick_split(list(loaded), options.split, path)]
    return loaded


def _load_hub(name: str, options: ReadOptions, datasets: Any) -> Any:
    """A hub dataset's split (needs the network; the tests never come here)."""
    try:
        splits = list(datasets.get_dataset_split_names(name))
    except Exception as err:  # offline, unknown name, gated: datasets raises many kinds
        raise InputError(
            f"no such file, and no hub dataset by this name ({type(err).__name__}: {err})", path=name
        ) from None
    return datasets.load_dataset(name, split=_pick_split(splits, options.split, Path(name)))


def _tag_names(dataset: Any, column: str, options: ReadOptions) -> list[str] | None:
    """The names of integer tags: the ClassLabel of the column, or ``extra["tag_names"]``."""
    feature = getattr(dataset.features[column], "feature", None)
    names = getattr(feature, "names", None)
    if names:
        return list(names)
    if "tag_names" in options.extra:
        return options.extra["tag_names"].split(",")
    return None


def _columns(dataset: Any, options: ReadOptions, path: Path) -> tuple[list[list[str]], list[list[str]], list[Any]]:
    """Tokens, tag strings and ids of every row."""
    tokens_col = options.extra.get("tokens_column", "tokens")
    tags_col = options.extra.get("tags_column", "ner_tags")
    missing = [c for c in (tokens_col, tags_col) if c not in dataset.column_names]
    if missing:
        raise InputError(f"no column {', '.join(missing)} (columns: {', '.join(dataset.column_names)})", path=path)
    names = _tag_names(dataset, tags_col, options)
    wanted = [tokens_col, tags_col] + (["id"] if "id" in dataset.column_names else [])
    data = dataset.select_columns(wanted).to_dict()
    tags = data[tags_col]
    if tags and any(tags) and not isinstance(next(t for t in tags if t)[0], str):
        if names is None:
            raise InputError(f"{tags_col} holds integers but no ClassLabel names them: pass tag_names", path=path)
        try:
            tags = [[names[i] for i in row] for row in tags]
        except IndexError:
            raise InputError(f"a tag index is beyond the {len(names)} tag names", path=path) from None
    ids = data.get("id") or [str(n) for n in range(1, len(tags) + 1)]
    return data[tokens_col], tags, ids


def _offsets(tokens: Sequence[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    offsets, pos = [], 0
    for token in tokens:
        offsets.append((pos, pos + len(token)))
        pos += len(token) + 1
    return " ".join(tokens), tuple(offsets)


@dataclass
class _Decoded:
    documents: list[Document]
    scheme: str
    repairs: int = 0
    empty: int = 0


def _decode(
    tokens: list[list[str]], tags: list[list[str]], ids: list[Any], options: ReadOptions, path: Path
) -> _Decoded:
    scheme = detect_scheme(tags) if options.scheme == "auto" else options.scheme
    out = _Decoded([], scheme)
    for row, (toks, row_tags, doc_id) in enumerate(zip(tokens, tags, ids, strict=True), 1):
        if len(toks) != len(row_tags):
            raise InputError(f"row {row}: {len(toks)} tokens but {len(row_tags)} tags", path=path)
        try:
            chunks = tags_to_chunks(row_tags, scheme=scheme, repair=options.repair)
        except TagError as err:
            raise InputError(f"row {row}, token {err.position + 1}: {err}", path=path) from None
        text, offsets = _offsets(toks)
        spans = [Span(offsets[a][0], offsets[b - 1][1], label) for a, b, label in chunks.chunks]
        out.empty += sum(s.start == s.end for s in spans)
        kept = tuple(s for s in spans if s.start < s.end)
        out.documents.append(Document(str(doc_id), text, kept, offsets, {"row": row}))
        out.repairs += chunks.repairs
    return out


@dataclass(frozen=True)
class HfDatasetsFormat:
    """The ``hf`` format: Hugging Face datasets with tokens and NER tags (see the module docstring)."""

    name: str = "hf"
    extensions: tuple[str, ...] = (".parquet",)
    description: str = "Hugging Face datasets (save_to_disk directory, parquet, or hub name): tokens + ner_tags"

    def sniff(self, path: Path, head: str) -> bool:
        """True for a ``save_to_disk`` directory or a ``.parquet`` file."""
        if path.is_dir():
            return any((path / marker).is_file() for marker in _MARKERS)
        return path.suffix.lower() == ".parquet"

    def read(self, path: Path, options: ReadOptions) -> Corpus:
        """Read the chosen split; one Document per row."""
        datasets = _import_datasets()
        with _quiet(datasets):
            dataset = _load(path, options, datasets)
            tokens, tags, ids = _columns(dataset, options, path)
        decoded = _decode(tokens, tags, ids, options, path)
        notes = (f"{decoded.empty} entities made only of empty tokens were skipped",) if decoded.empty else ()
        return Corpus(tuple(decoded.documents), self.name, decoded.scheme, decoded.repairs, notes)


FORMAT = HfDatasetsFormat()
