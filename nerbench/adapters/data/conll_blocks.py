"""A CoNLL file read a block of sentences at a time: the documents ``ConllFormat.read`` gives, in bounded memory.

For scoring files too large to hold whole (``nerbench score`` on millions of sentences). Only the plain
case streams: one UTF-8 file (a UTF-8 byte-order mark allowed), sentences as documents, every block's first
token line split like the file's first. Where only the whole file can decide (a tag, column or encoding
error, comma-joined tags under ``multi_label: error``, a detected scheme that the later tags change), the
reader raises :class:`NotStreamable`, and the caller reads the file whole as before: the documents, their
ids, the scheme, the repairs and every error message stay exactly those of ``ConllFormat.read``.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from nerbench.adapters.data import tokencols
from nerbench.adapters.data.base import ReadOptions, wide_encoding
from nerbench.adapters.data.blocks import BlockStats, NotStreamable
from nerbench.adapters.data.conll import _check_tags, _resolve_multi_labels
from nerbench.errors import InputError
from nerbench.gc_paused import gc_paused
from nerbench.tagging import scheme_from_tagset
from nerbench.types import Document

BLOCK_CHARS = 1 << 20  # about this many characters of the file per block


def streamable(path: Path, options: ReadOptions) -> bool:
    """A single file read with sentence grouping: the case :func:`read_blocks` handles."""
    return path.is_file() and options.group == "sentence"


def text_blocks(path: Path, size: int | None = None) -> Iterator[tuple[int, str]]:
    """``(line number of its first line, text)`` of each block, every block ending at an empty line (or the end).

    Line ends are made ``"\\n"`` as ``unix_newlines`` does; a byte that is not UTF-8 raises NotStreamable.
    """
    size = size or BLOCK_CHARS
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line, buffer, carried_cr, first = 1, "", False, True
    try:
        with path.open("rb") as handle:
            while True:
                data = handle.read(size)
                if first:
                    if wide_encoding(data) is not None:
                        raise NotStreamable("a UTF-16 or UTF-32 file")
                    data, first = data.removeprefix(codecs.BOM_UTF8), False
                text = decoder.decode(data, final=not data)
                if carried_cr:
                    text, carried_cr = "\r" + text, False
                if text.endswith("\r") and data:
                    text, carried_cr = text[:-1], True
                if "\r" in text:
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                buffer += text
                if not data:
                    if buffer:
                        yield line, buffer
                    return
                cut = buffer.rfind("\n\n") if len(buffer) >= size else -1
                if cut >= 0:
                    block, buffer = buffer[: cut + 2], buffer[cut + 2 :]
                    yield line, block
                    line += block.count("\n")
    except UnicodeDecodeError:
        raise NotStreamable("bytes that are not UTF-8") from None
    except OSError:
        raise NotStreamable("a file that cannot be read") from None


def _first_token_columns(text: str) -> int:
    for line in text.split("\n", 64):
        cols = tokencols._columns(line)
        if cols and line.strip() and cols[0] != tokencols.DOCSTART:
            return len(cols)
    return 0


def read_conll_blocks(
    path: Path, options: ReadOptions, stats: BlockStats, size: int | None = None
) -> Iterator[list[Document]]:
    """The file's documents, a block at a time, as ``ConllFormat.read`` would give them; ``stats`` is filled
    as the blocks go. Raises NotStreamable (possibly after the last block) where a whole-file read decides."""
    if not streamable(path, options):
        raise NotStreamable("a directory, or documents grouped by -DOCSTART-")
    stem, columns, assumed = path.stem, 0, None
    for base, text in text_blocks(path, size):
        width = _first_token_columns(text)
        if not width:
            continue
        columns = columns or width
        if width != columns:
            raise NotStreamable("token lines split differently")
        try:
            with gc_paused():
                docs, assumed = _block(path, options, stats, text, base, stem, assumed)
        except InputError:
            raise NotStreamable("an error the whole file names") from None
        yield docs
    if not stats.documents:
        raise NotStreamable("no token lines")
    if options.scheme == "auto" and _detected(stats) != assumed:
        raise NotStreamable("the scheme detected over the whole file differs from the first block's")


def _detected(stats: BlockStats) -> str | None:
    """detect_scheme's answer for the tags and chunk starts seen so far (None: only the whole file can say)."""
    found = scheme_from_tagset(stats.tags)
    if found is not None:
        return found
    if not stats.scanned:
        return None
    return "IOB1" if stats.i_starts > stats.b_starts else "IOB2"


def _block(
    path: Path, options: ReadOptions, stats: BlockStats, text: str, base: int, stem: str, assumed: str | None
) -> tuple[list[Document], str | None]:
    parsed = tokencols.parse(text, path, options)
    if not parsed.lines:
        return [], assumed
    parsed.lines = [line + base - 1 for line in parsed.lines]
    tagset = set(parsed.tags)
    if any("," in tag for tag in tagset):
        if options.multi_label == "error":
            raise NotStreamable("comma-joined tags")
        tagset = _resolve_multi_labels(parsed, tagset, path, options)
    new = tagset - stats.tags
    stats.tags |= tagset
    scan = tokencols.scan_iob(parsed, tagset) if options.scheme in ("auto", "IOB2") else None
    if options.scheme == "auto":
        if scan is None:
            stats.scanned = False
        else:
            stats.i_starts += scan.i_starts
            stats.b_starts += scan.b_starts
        now, by_tags = _detected(stats), scheme_from_tagset(stats.tags)
        if now is None or (assumed is not None and by_tags is not None and by_tags != assumed):
            raise NotStreamable("the scheme depends on the whole file")
        scheme = assumed = assumed or now
    else:
        scheme = options.scheme
    _check_tags(parsed, new, scheme, path)
    decoder = tokencols.Decoder(path, scheme, options.repair)
    chunks = decoder.chunks(parsed, scan)
    n = len(parsed.lines)
    names = [f"{stem}-{k}" for k in range(stats.documents + 1, stats.documents + n + 1)]
    docs = decoder.documents(parsed, chunks, list(range(n + 1)), names)
    stats.documents += n
    stats.repairs += decoder.repairs
    stats.empty_chunks += decoder.empty_chunks
    stats.scheme = scheme
    return docs, assumed
