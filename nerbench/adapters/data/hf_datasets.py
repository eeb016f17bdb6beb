"""Hugging Face ``datasets`` token-classification data: ``tokens`` + ``ner_tags`` columns.

Sources
    a directory written by ``save_to_disk`` (a Dataset, or a DatasetDict whose split is
    ``ReadOptions.split``, else ``"test"`` when present, else the only one); a local
    ``.parquet`` file (``to_parquet`` keeps the features); a local ``.json``/``.jsonl``
    file of rows (JSON Lines, or one JSON array; name the format: ``--format hf``), read
    with the JSONL reader's checks; or, for users online, a hub dataset name such as
    ``conll2003`` or ``owner/name``, given as the path with ``--format hf``. A path that
    looks local (a data file suffix, an absolute path, a folder that exists) and does not
    exist is an error at once: the hub is only asked about names. A directory or file
    that ``datasets`` or ``pyarrow`` cannot read (corrupt, empty) is one clear error.

Columns
    ``tokens`` and ``ner_tags`` (or ``ReadOptions.extra["tokens_column"]`` /
    ``["tags_column"]``). Integer tags are named by the column's ``ClassLabel`` feature
    (or by ``extra["tag_names"]``, comma-separated, where the feature has none); string
    tags are used as they are. Tokens must be lists of strings and tags lists of strings
    or of integers within the names; anything else is an error naming the row. Tags are
    decoded by :mod:`nerbench.tagging` under the scheme in the options or the one detected
    over the whole split (a malformed tag such as ``B-`` or ``X-PER`` is an error); repairs
    are counted. An ``id`` column gives the ids (strings or integers, unique: a repeated
    id is an error, as in every reader), else the row number, from 1.

Text and offsets follow the CoNLL reader: tokens joined with single spaces,
``Document.tokens`` their code-point offsets; an entity over empty tokens only has no
character span and is skipped and counted in ``Corpus.notes``.

``datasets`` is an optional dependency, imported when a source is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerbench.adapters.data import jsontext
from nerbench.adapters.data.base import Corpus, ReadOptions, kind_of, plain, read_text, shown, unix_newlines
from nerbench.adapters.data.jsonl import json_lines
from nerbench.adapters.data.jsontext import has_surrogate
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


HUB_TIMEOUT_S = 10.0
_LOCAL_SUFFIXES = (".parquet", ".json", ".jsonl", ".arrow", ".csv", ".tsv", ".txt", ".conll")
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?")


def _hub_name(path: Path) -> bool:
    """True when a path that does not exist could be a hub dataset name (``name`` or ``owner/name``)."""
    text = str(path)
    if not _HUB_NAME.fullmatch(text) or path.suffix.lower() in _LOCAL_SUFFIXES:
        return False
    return "/" not in text or not Path(text.split("/", 1)[0]).exists()


def _failure(err: BaseException) -> str:
    """An exception from datasets or pyarrow as a short phrase for one error line."""
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(err).__name__}: {text[:200]}" if text else type(err).__name__


def _load(path: Path, options: ReadOptions, datasets: Any) -> Any:
    """The one Dataset (split) that ``path`` names."""
    if path.is_dir():
        if not any((path / marker).is_file() for marker in _MARKERS):
            raise InputError("not a directory written by datasets' save_to_disk (no dataset_info.json)", path=path)
        try:
            loaded = datasets.load_from_disk(str(path))
        except Exception as err:  # a corrupt or half-written directory: datasets raises many kinds
            raise InputError(f"cannot load this save_to_disk directory ({_failure(err)})", path=path) from None
    elif path.suffix.lower() == ".parquet" and path.exists():
        loaded = _parquet(path, datasets)
    elif path.exists():
        raise InputError("expected a save_to_disk directory, a .parquet or a .json(l) file", path=path)
    elif _hub_name(path):
        return _load_hub(str(path), options, datasets)
    else:
        raise InputError(
            "no such file or directory: check the path (a hub dataset is named 'name' or 'owner/name')", path=path
        )
    if isinstance(loaded, datasets.DatasetDict):
        return loaded[_pick_split(list(loaded), options.split, path)]
    return loaded


def _parquet(path: Path, datasets: Any) -> Any:
    import pyarrow.parquet as pq
    from datasets.table import InMemoryTable

    try:
        return datasets.Dataset(InMemoryTable(pq.read_table(path)))
    except Exception as err:  # empty, truncated or not parquet at all
        raise InputError(f"cannot read this parquet file ({_failure(err)})", path=path) from None


def _check_hub_name(name: str) -> None:
    """Ask the hub once, without retries, whether it has the dataset: a mistyped name or no network is one
    line at once (datasets' own calls retry with backoff for half a minute first). In offline mode the
    datasets cache answers instead."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import RepositoryNotFoundError

    if constants.HF_HUB_OFFLINE:
        return
    try:
        HfApi().dataset_info(name, timeout=HUB_TIMEOUT_S)
    except RepositoryNotFoundError:
        raise InputError(
            "no such file, and the hub has no dataset by this name (or it is private): check the path or the name",
            path=name,
        ) from None
    except Exception as err:  # anything but no connection: datasets tries and says what is wrong
        if _unreachable(err):
            raise InputError(
                f"no such file, and the hub ({constants.ENDPOINT}) cannot be reached to look the name up: check "
                "the path, or go online (HF_HUB_OFFLINE=1 reads a dataset already in the datasets cache)",
                path=name,
            ) from None


def _unreachable(err: BaseException) -> bool:
    """A connection that failed or timed out, in requests' or httpx's terms (huggingface_hub uses either)."""
    names = {"ConnectionError", "Timeout", "ConnectTimeout", "ReadTimeout", "ConnectError", "TimeoutException"}
    return any(c.__name__ in names for c in type(err).__mro__)


def _load_hub(name: str, options: ReadOptions, datasets: Any) -> Any:
    """A hub dataset's split (needs the network, or the datasets cache in offline mode)."""
    _check_hub_name(name)
    try:
        splits = list(datasets.get_dataset_split_names(name))
        return datasets.load_dataset(name, split=_pick_split(splits, options.split, Path(name)))
    except InputError:
        raise
    except Exception as err:  # offline, unknown name, gated: datasets raises many kinds
        raise InputError(f"no such file, and no hub dataset by this name ({_failure(err)})", path=name) from None


@dataclass
class _Table:
    """The rows to read: tokens, tags (strings, or integers and their names) and ids, and how to name a row."""

    tokens: list[Any]
    tags: list[Any]
    ids: list[Any] | None
    names: list[str] | None
    lines: list[int] | None = None  # each row's line, for rows read from a JSON file

    def error(self, path: Path, row: int, problem: str) -> InputError:
        line = None if self.lines is None else self.lines[row - 1]
        return InputError(f"row {row}: {problem}", path=path, line=line)


def _tag_names(dataset: Any, column: str, options: ReadOptions) -> list[str] | None:
    """The names of integer tags: the ClassLabel of the column, or ``extra["tag_names"]``."""
    feature = getattr(dataset.features[column], "feature", None)
    names = getattr(feature, "names", None)
    if names:
        return list(names)
    return _extra_names(options)


def _extra_names(options: ReadOptions) -> list[str] | None:
    return options.extra["tag_names"].split(",") if "tag_names" in options.extra else None


def _column_names(options: ReadOptions) -> tuple[str, str]:
    return options.extra.get("tokens_column", "tokens"), options.extra.get("tags_column", "ner_tags")


def _dataset_table(dataset: Any, options: ReadOptions, path: Path) -> _Table:
    """Tokens, tags and ids of every row of a Dataset."""
    tokens_col, tags_col = _column_names(options)
    missing = [c for c in (tokens_col, tags_col) if c not in dataset.column_names]
    if missing:
        raise InputError(f"no column {', '.join(missing)} (columns: {_names(dataset.column_names)})", path=path)
    wanted = [tokens_col, tags_col] + (["id"] if "id" in dataset.column_names else [])
    try:
        data = dataset.select_columns(wanted).to_dict()
    except Exception as err:  # a column arrow cannot turn into Python values
        raise InputError(f"cannot read the columns ({_failure(err)})", path=path) from None
    return _Table(data[tokens_col], data[tags_col], data.get("id"), _tag_names(dataset, tags_col, options))


def _names(columns: Iterable[str]) -> str:
    """Column names for an error line: each printable, the first ten."""
    names = [plain(str(c)) for c in columns]
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _json_table(path: Path, options: ReadOptions) -> _Table:
    """Tokens, tags and ids of every row of a JSON Lines file (or a JSON array of rows)."""
    text = read_text(path)
    lines: list[int] | None
    if text.lstrip().startswith("["):
        rows = jsontext.loads(unix_newlines(text), path=path, line=1)
        lines = None
        numbered = list(enumerate(rows, 1))
    else:
        numbered = list(json_lines(path))
        lines = [line for line, _ in numbered]
    tokens_col, tags_col = _column_names(options)
    table = _Table([], [], [], _extra_names(options), lines)
    for row, (_, obj) in enumerate(numbered, 1):
        if not isinstance(obj, dict):
            raise table.error(path, row, f"expected a row object, found {kind_of(obj)}")
        missing = [c for c in (tokens_col, tags_col) if c not in obj]
        if missing:
            raise table.error(path, row, f"no column {', '.join(missing)} (columns: {_names(obj)})")
        table.tokens.append(obj[tokens_col])
        table.tags.append(obj[tags_col])
        table.ids.append(obj.get("id"))  # type: ignore[union-attr]
    if all(doc_id is None for doc_id in table.ids or ()):
        table.ids = None
    return table


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


def _row_tokens(table: _Table, row: int, path: Path) -> list[str]:
    tokens = table.tokens[row - 1]
    if not isinstance(tokens, list) or not set(map(type, tokens)) <= {str}:
        raise table.error(path, row, f"tokens must be a list of strings, found {shown(tokens)}")
    return tokens


def _row_tags(table: _Table, row: int, path: Path) -> list[str]:
    """A row's tags as strings: strings as they are, integers through the tag names (in range)."""
    tags = table.tags[row - 1]
    kinds = set(map(type, tags)) if isinstance(tags, list) else {type(tags), list}
    if kinds <= {str}:
        return tags
    if kinds != {int}:
        raise table.error(path, row, f"tags must be a list of strings or of integers, found {shown(tags)}")
    names = table.names
    if names is None:
        raise InputError("the tags are integers but no ClassLabel names them: pass tag_names", path=path)
    bad = next((t for t in tags if not 0 <= t < len(names)), None)
    if bad is not None:
        raise table.error(
            path, row, f"tag index {bad} is not one of the {len(names)} tag names (0 to {len(names) - 1})"
        )
    return [names[t] for t in tags]


def _row_id(table: _Table, row: int, seen: dict[str, int], path: Path) -> str:
    """The row's id (its number when there is no id column); a repeated id raises, as in every reader."""
    if table.ids is None:
        return str(row)
    raw = table.ids[row - 1]
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise table.error(path, row, f"id must be a string or an integer, found {shown(raw)}")
    doc_id = str(raw)
    if doc_id in seen:
        raise table.error(path, row, f"duplicate id {doc_id!r} (row {seen[doc_id]} has it too): ids must be unique")
    seen[doc_id] = row
    return doc_id


def _decode(table: _Table, options: ReadOptions, path: Path) -> _Decoded:
    rows = range(1, len(table.tokens) + 1)
    tags = [_row_tags(table, row, path) for row in rows]
    for tag in {t for row_tags in tags for t in row_tags}:
        if has_surrogate(tag):
            raise InputError(f"tag {shown(tag)} holds a lone surrogate, which is no character", path=path)
    scheme = detect_scheme(tags) if options.scheme == "auto" else options.scheme
    out = _Decoded([], scheme)
    seen: dict[str, int] = {}
    for row, row_tags in zip(rows, tags, strict=True):
        toks = _row_tokens(table, row, path)
        if len(toks) != len(row_tags):
            raise table.error(path, row, f"{len(toks)} tokens but {len(row_tags)} tags")
        try:
            chunks = tags_to_chunks(row_tags, scheme=scheme, repair=options.repair)
        except TagError as err:
            raise table.error(path, row, f"token {err.position + 1}: {err}") from None
        text, offsets = _offsets(toks)
        if has_surrogate(text):
            raise table.error(path, row, "a token holds a lone surrogate, which is no character: fix the data")
        spans = [Span(offsets[a][0], offsets[b - 1][1], label) for a, b, label in chunks.chunks]
        out.empty += sum(s.start == s.end for s in spans)
        kept = tuple(s for s in spans if s.start < s.end)
        doc_id = _row_id(table, row, seen, path)
        meta = {"row": row} if table.lines is None else {"row": row, "line": table.lines[row - 1]}
        out.documents.append(Document(doc_id, text, kept, offsets, meta))
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
        if path.suffix.lower() in (".json", ".jsonl") and not path.is_dir():
            table = _json_table(path, options)
        else:
            datasets = _import_datasets()
            with _quiet(datasets):
                table = _dataset_table(_load(path, options, datasets), options, path)
        decoded = _decode(table, options, path)
        notes = (f"{decoded.empty} entities made only of empty tokens were skipped",) if decoded.empty else ()
        return Corpus(tuple(decoded.documents), self.name, decoded.scheme, decoded.repairs, notes)


FORMAT = HfDatasetsFormat()
