"""Files nerbench writes are complete or absent: write to a temporary name, then rename.

A new file gets the mode ``open()`` would give it (``0o666`` less the umask), a file
that is replaced keeps its mode, and a symbolic link is written through: its target is
replaced, the link stays. A directory, a device or a pipe is never replaced. The
temporary file sits beside the target, so the rename is atomic. A write that fails (a
directory in the way, no permission, a full disk) raises
:class:`~nerbench.errors.InputError` naming the path, and leaves no temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from nerbench.errors import InputError

_NEW_FILE_MODE = 0o666  # the kernel takes the umask off, as for open()
_BUFFER = 1 << 20  # a streamed file reaches the disk a megabyte at a time


def _unencodable(err: UnicodeEncodeError, path: Path) -> InputError:
    return InputError(
        f"cannot write character {err.object[err.start]!r} (a lone surrogate) as UTF-8: fix the text", path=path
    )


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and a rename; errors raise."""
    path = Path(path)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise _unencodable(err, path) from None
    atomic_write_bytes(path, data)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename; errors raise."""
    try:
        _write_with(Path(path), lambda fh: fh.write(data))
    except OSError as err:
        raise InputError(f"cannot write this file ({err.strerror or err}): check the path", path=path) from err


def atomic_write_chunks(path: Path, chunks: Iterable[str]) -> str:
    """Write the text ``chunks`` make together (UTF-8), one chunk at a time, as :func:`atomic_write` writes a
    whole text: the file is complete or absent, and the text is never held whole (a run directory's files
    at millions of documents). An error while ``chunks`` is iterated leaves no file and no temporary file.
    Returns the sha256 of the bytes written."""
    path = Path(path)
    digest = hashlib.sha256()

    def fill(fh: BinaryIO) -> None:
        for chunk in chunks:
            data = chunk.encode("utf-8")
            digest.update(data)
            fh.write(data)

    try:
        _write_with(path, fill)
    except UnicodeEncodeError as err:
        raise _unencodable(err, path) from None
    except OSError as err:
        raise InputError(f"cannot write this file ({err.strerror or err}): check the path", path=path) from err
    return digest.hexdigest()


class _Changed(Exception):
    """The file copied is not the one whose hash was recorded."""


def atomic_copy_verified(source: Path, path: Path, sha256: str) -> bool:
    """Copy ``source`` to ``path`` as :func:`atomic_write_chunks` writes, only if its bytes still have the
    ``sha256`` recorded when nerbench wrote it: True when ``path`` now holds those bytes (copied, or it is
    ``source`` itself); False (``path`` untouched) when the source is gone, unreadable or changed."""

    def copy(fh: BinaryIO | None) -> None:
        digest = hashlib.sha256()
        with open(source, "rb") as src:
            while block := src.read(1 << 20):
                digest.update(block)
                if fh is not None:
                    fh.write(block)
        if digest.hexdigest() != sha256:
            raise _Changed

    try:
        if not os.path.isfile(source):
            return False
        if os.path.exists(path) and os.path.samefile(source, path):
            copy(None)  # the file is already there: only check it
        else:
            _write_with(Path(path), copy)
    except (_Changed, OSError):
        return False
    return True


def _write_with(path: Path, fill: Callable[[BinaryIO], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    target = Path(os.path.realpath(path))  # through symbolic links, to the file they name
    try:
        found = os.stat(target)
    except FileNotFoundError:
        mode: int | None = None
    else:
        if stat.S_ISDIR(found.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a directory: name a file to write", str(path))
        if not stat.S_ISREG(found.st_mode):  # a device or a pipe: a rename would replace it with a file
            raise OSError(errno.EINVAL, "it is not a regular file: name a file to write", str(path))
        mode = stat.S_IMODE(found.st_mode)
    fd, tmp = _temporary(target)
    try:
        with os.fdopen(fd, "wb", buffering=_BUFFER) as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fill(fh)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _temporary(target: Path) -> tuple[int, str]:
    """A new file beside ``target``, opened for writing, created with the umask's mode."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, _NEW_FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target.parent))
