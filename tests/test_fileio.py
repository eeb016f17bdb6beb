"""atomic_write: complete or absent; new files get the umask's mode, replaced ones keep theirs; links write through."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from nerbench.errors import InputError
from nerbench.fileio import atomic_write, atomic_write_chunks


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask after a test that sets it."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_0666_less_the_umask(tmp_path: Path, umask: None, mask: int, expected: int) -> None:
    os.umask(mask)
    path = tmp_path / "new.jsonl"
    atomic_write(path, "x\n")
    assert path.read_text(encoding="utf-8") == "x\n"
    assert mode(path) == expected
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_a_replaced_file_keeps_its_mode(tmp_path: Path, umask: None, mask: int) -> None:
    path = tmp_path / "old.txt"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o664)
    os.umask(mask)
    atomic_write(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert mode(path) == 0o664


def test_a_symlink_is_written_through_to_its_target(tmp_path: Path, umask: None) -> None:
    target = tmp_path / "real" / "data.jsonl"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert target.read_text(encoding="utf-8") == "new"
    assert mode(target) == 0o640
    assert leftovers(tmp_path) == [] and leftovers(target.parent) == []


def test_a_dangling_symlink_creates_its_target(tmp_path: Path, umask: None) -> None:
    os.umask(0o022)
    link, target = tmp_path / "link.txt", tmp_path / "target.txt"
    link.symlink_to(target)
    atomic_write(link, "made")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "made"
    assert mode(target) == 0o644


def test_the_write_is_atomic_and_creates_missing_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "out.txt"
    atomic_write(path, "é\n")
    assert path.read_bytes() == "é\n".encode()
    assert leftovers(path.parent) == []


def test_a_directory_in_the_way_is_one_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(InputError, match="directory") as info:
        atomic_write(folder, "x")
    assert info.value.path == str(folder) and "\n" not in str(info.value)
    assert list(folder.iterdir()) == [] and leftovers(tmp_path) == []


def test_an_unwritable_folder_is_one_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InputError, match="cannot write"):
            atomic_write(folder / "x.txt", "x")
    finally:
        folder.chmod(0o700)


def test_a_parent_that_is_a_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="cannot write"):
        atomic_write(tmp_path / "file" / "x.txt", "x")


def test_text_that_is_not_utf8_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("kept", encoding="utf-8")
    with pytest.raises(InputError, match="surrogate"):
        atomic_write(path, "a\ud800b")
    assert path.read_text(encoding="utf-8") == "kept" and leftovers(tmp_path) == []


def test_a_device_or_a_pipe_is_never_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        atomic_write(fifo, "x")
    assert stat.S_ISFIFO(fifo.stat().st_mode) and leftovers(tmp_path) == []


def test_chunks_are_written_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    atomic_write_chunks(path, (f"{i}\n" for i in range(5000)))
    assert path.read_text(encoding="utf-8") == "".join(f"{i}\n" for i in range(5000))

    def failing() -> Iterator[str]:
        yield "half a file\n"
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError):
        atomic_write_chunks(path, failing())
    with pytest.raises(InputError, match="lone surrogate"):
        atomic_write_chunks(path, ["fine\n", "bad \udc80\n"])
    assert path.read_text(encoding="utf-8").startswith("0\n1\n") and leftovers(tmp_path) == []
    atomic_write_chunks(tmp_path / "empty", iter(()))
    assert (tmp_path / "empty").read_bytes() == b""
