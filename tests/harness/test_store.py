"""The results store opens only what is a store, reads read-only stores, and fails in one line, losing nothing."""

from __future__ import annotations

import functools
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerbench.errors import InputError
from nerbench.harness.store import Store, StoredPrediction, is_new
from tests.harness.conftest import REPO, SuiteWriter, nerbench

CAPS = [{"name": "caps", "adapter": "tests.fakes:Capitalised"}]


def _fill(store: Store, run_id: str = "r1", *, documents: int = 200) -> None:
    store.create_run(run_id, suite="s", suite_path="/s.yaml", digest="d", out_dir="/out", info={"note": "x" * 3000})
    store.start_prediction_set("k1", adapter="a", fingerprint="f", dataset_hash="h")
    batch = [StoredPrediction(f"d{i}", i, [[0, 3, "PER", "Ada"]], None) for i in range(documents)]
    store.add_batch("k1", 0, batch, characters=documents * 40, seconds=0.5)
    store.save_cell(run_id, "m", "news", status="done", cache_key="k1", result={"metrics": {"f1": 0.5}})
    store.finish_run(run_id)


def _real_store(path: Path) -> Path:
    store = Store(path)
    try:
        _fill(store)
    finally:
        store.close()  # the last connection checkpoints the WAL into the file
    return path


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def _one_line_error(proc: subprocess.CompletedProcess[str], path: Path) -> str:
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and str(path) in lines[0], proc.stderr
    return lines[0]


def _sql(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)


def _foreign(path: Path) -> None:
    _sql(path, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO customers VALUES (1, 'Ada')")


def _foreign_with_meta(path: Path) -> None:
    _sql(path, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)", "INSERT INTO meta VALUES ('owner', 'accounts')")


def _future_version(path: Path) -> None:
    _real_store(path)
    _sql(path, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")


def _truncated(path: Path) -> None:
    _real_store(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbled(path: Path) -> None:
    _real_store(path)
    data = bytearray(path.read_bytes())
    rng = random.Random(11)
    data[100:4096] = bytes(rng.randrange(256) for _ in range(4096 - 100))  # the schema page
    path.write_bytes(bytes(data))


NOT_A_STORE: dict[str, Callable[[Path], object]] = {
    "text file": lambda p: p.write_text("name,score\nada,1\n", encoding="utf-8"),
    "directory": lambda p: p.mkdir(),
    "foreign database": _foreign,
    "foreign database with a meta table": _foreign_with_meta,
    "unknown schema version": _future_version,
    "truncated store": _truncated,
    "garbled store": _garbled,
}


@pytest.mark.parametrize("command", ["runs", "run"])
@pytest.mark.parametrize("case", list(NOT_A_STORE))
def test_what_is_not_a_store_is_one_line_and_left_untouched(
    case: str, command: str, write_suite: SuiteWriter, tmp_path: Path
) -> None:
    target = tmp_path / "given" / "other.db"
    target.parent.mkdir()
    NOT_A_STORE[case](target)
    before = {p.name: p.read_bytes() for p in target.parent.iterdir() if p.is_file()}
    args = ["runs"] if command == "runs" else ["run", write_suite(CAPS), "--out", tmp_path / "run"]
    proc = nerbench(*args, "--store", target, cwd=tmp_path, check=False)
    line = _one_line_error(proc, target)
    assert "version" in line if case == "unknown schema version" else "not a nerbench results store" in line
    after = {p.name: p.read_bytes() for p in target.parent.iterdir() if p.is_file()}
    if command == "runs" and before.get(target.name, b"")[18:20] == b"\x02\x02":
        # A read-only reader of a WAL database leaves SQLite's -wal and -shm beside it, as the sqlite3 shell does.
        assert after.pop(f"{target.name}-wal", b"") == b"" and set(after) - set(before) <= {f"{target.name}-shm"}
        after.pop(f"{target.name}-shm", None)
    assert after == before  # no tables added, no byte changed, no file left beside it
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["runs", "run"])
def test_a_store_path_under_a_file_is_one_line(command: str, write_suite: SuiteWriter, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me\n", encoding="utf-8")
    target = tmp_path / "notes.txt" / "r.db"
    args = ["runs"] if command == "runs" else ["run", write_suite(CAPS), "--out", tmp_path / "run"]
    proc = nerbench(*args, "--store", target, cwd=tmp_path, check=False)
    if command == "runs":
        assert proc.returncode == 0 and "no runs yet" in proc.stdout
    else:
        assert "cannot create its directory" in _one_line_error(proc, target)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me\n"


def test_an_absent_or_empty_file_becomes_a_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (empty, tmp_path / "new" / "dir" / "r.db"):
        assert is_new(path)
        _real_store(path)
        assert not is_new(path)
        store = Store(path, read_only=True)
        assert [r["id"] for r in store.runs()] == ["r1"]
        store.close()


def test_stores_opened_at_once_on_a_new_file_all_open(tmp_path: Path) -> None:
    path, errors = tmp_path / "shared.db", []

    def open_and_write(i: int) -> None:
        try:
            store = Store(path)
            store.create_run(f"r{i}", suite="s", suite_path="/s", digest="d", out_dir="/o", info={})
            store.close()
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=open_and_write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(Store(path, read_only=True).runs()) == 8


# Read-only: `nerbench runs` never creates a store, and lists one it cannot write.


def test_runs_never_creates_a_store(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "r.db"
    proc = nerbench("runs", "--store", target, cwd=tmp_path)
    assert "no runs yet" in proc.stdout
    assert not target.parent.exists()
    with pytest.raises(InputError, match="does not exist"):
        Store(target, read_only=True)
    assert not target.parent.exists()


def test_a_read_only_store_refuses_writes_and_changes_nothing(tmp_path: Path) -> None:
    path = _real_store(tmp_path / "r.db")
    before = path.read_bytes()
    store = Store(path, read_only=True)
    with pytest.raises(InputError, match=r"r\.db: the results store failed: it cannot be written here"):
        store.create_run("r2", suite="s", suite_path="/s", digest="d", out_dir="/o", info={})
    assert store.cells("r1")[0]["metrics"] == {"f1": 0.5}
    store.close()
    assert path.read_bytes() == before


def _unprivileged_prefix(read_only_file: Path) -> list[str]:
    """A command prefix under which file permissions bind (root without capabilities), or skip."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: chmod cannot make a file read-only")
    prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]
    probe = subprocess.run([*prefix, "sh", "-c", f": >> '{read_only_file}'"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("dropping capabilities does not make chmod bind here")
    return prefix


@contextmanager
def _read_only(path: Path, *, directory: bool) -> Iterator[None]:
    path.chmod(0o444)
    if directory:
        path.parent.chmod(0o555)
    try:
        yield
    finally:
        path.parent.chmod(0o755)
        path.chmod(0o644)


def _nerbench_as(prefix: list[str], *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [*prefix, sys.executable, "-m", "nerbench.cli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("directory", [False, True], ids=["read-only file", "read-only file and directory"])
def test_runs_lists_a_read_only_store_and_run_refuses_it_in_one_line(
    directory: bool, write_suite: SuiteWriter, tmp_path: Path
) -> None:
    suite = write_suite(CAPS)
    path = _real_store(tmp_path / "ro" / "r.db")
    before = path.read_bytes()
    with _read_only(path, directory=directory):
        prefix = _unprivileged_prefix(path)
        listing = _nerbench_as(prefix, "runs", "--store", path, cwd=tmp_path)
        assert listing.returncode == 0, listing.stderr
        assert "r1" in listing.stdout and "done" in listing.stdout
        proc = _nerbench_as(prefix, "run", suite, "--out", tmp_path / "run", "--store", path, cwd=tmp_path)
        assert "cannot be written here" in _one_line_error(proc, path)
    assert path.read_bytes() == before


def test_a_new_store_in_a_read_only_directory_is_one_line(write_suite: SuiteWriter, tmp_path: Path) -> None:
    suite = write_suite(CAPS)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "probe").touch(mode=0o444)
    locked.chmod(0o555)
    try:
        prefix = _unprivileged_prefix(locked / "probe")
        for target in (locked / "r.db", locked / "sub" / "r.db"):
            proc = _nerbench_as(prefix, "run", suite, "--out", tmp_path / "run", "--store", target, cwd=tmp_path)
            _one_line_error(proc, target)
        assert [p.name for p in locked.iterdir()] == ["probe"]
    finally:
        locked.chmod(0o755)


# Failed writes: one line naming the store, the store intact, everything committed kept.


def test_a_full_disk_is_one_error_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    store = Store(path)
    _fill(store)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: the file cannot grow
    big = [StoredPrediction(f"e{i}", i, [[0, 3, "PER", "x" * 500]], None) for i in range(500)]
    with pytest.raises(InputError) as caught:
        store.add_batch("k1", 200, big, characters=1, seconds=1.0)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "disk is full" in message and "nothing committed was lost" in message
    assert "\n" not in message
    store.db.execute("PRAGMA max_page_count = 1073741823")  # space freed: the same store goes on
    store.create_run("r2", suite="s", suite_path="/s", digest="d", out_dir="/o", info={})
    store.close()
    assert _integrity(path) == "ok"
    again = Store(path, read_only=True)
    assert len(again.predictions("k1")) == 200 and again.batch_totals("k1")[0] == 200
    assert [r["id"] for r in again.runs()] == ["r1", "r2"]
    again.close()


def test_a_store_locked_past_the_timeout_is_one_error(tmp_path: Path) -> None:
    path = _real_store(tmp_path / "r.db")
    store = Store(path, timeout=0.3)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(InputError, match=r"another process kept it locked for over 0\.3 s"):
            store.finish_run("r1", "interrupted")
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.finish_run("r1", "checked")
    assert store.run("r1")["status"] == "checked"  # type: ignore[index]
    store.close()


LIMIT_FILE_SIZE = """
import os, resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))  # no file may grow past 64 KiB
os.execv(sys.argv[1], sys.argv[1:])
"""


def _second_run_fails(
    suite: Path, store: Path, *, wrapper: tuple[str, ...] = (), prelude: str = "", fill: str = "", limit: str = ""
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the suite into ``store``; ``fill``; run it again (``limit`` prefixing the command); then check the store.

    One shell runs it all, under ``wrapper`` after ``prelude`` (so all in one mount namespace under unshare).
    Returns the second run (exit status and stderr) and what an integrity check and `nerbench runs` print after.
    """
    py, work = sys.executable, store.parent.parent
    script = "\n".join([
        "set -u",
        prelude,
        f"{py} -m nerbench.cli run {suite} --store {store} --out {work}/run1 >/dev/null 2>&1 || exit 3",
        fill,
        f"{limit} {py} -m nerbench.cli run {suite} --store {store} --out {work}/run2 --no-cache >/dev/null "
        f"2>{work}/err.txt; echo $? > {work}/rc.txt",
        f"rm -f {store.parent}/fill",
        f"{py} -c \"import sqlite3; print(sqlite3.connect('{store}')"
        ".execute('PRAGMA integrity_check').fetchone()[0])\"",
        f"{py} -m nerbench.cli runs --store {store}",
    ])  # fmt: skip
    after = subprocess.run(
        [*wrapper, "sh", "-c", script], cwd=work, env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if after.returncode == 77:
        pytest.skip(f"cannot mount a private tmpfs here: {after.stderr.strip()[:200]}")
    assert after.returncode == 0, after.stdout[-2000:] + after.stderr[-2000:]
    rc = int((work / "rc.txt").read_text())
    return subprocess.CompletedProcess([], rc, "", (work / "err.txt").read_text(encoding="utf-8")), after.stdout


def _survived(after: str) -> None:
    integrity, listing = after.split("\n", 1)
    assert integrity == "ok"
    assert listing.count(" done ") == 1, listing  # the first run, intact; the second left no half-written cell


def test_a_full_disk_during_a_run_is_one_line_and_the_store_survives(write_suite: SuiteWriter, tmp_path: Path) -> None:
    """A real full disk: a 4 MiB tmpfs in a private mount namespace, filled up after the first run."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare for a private tmpfs")
    store = tmp_path / "disk" / "r.db"
    store.parent.mkdir()
    second, after = _second_run_fails(
        write_suite(CAPS), store, wrapper=("unshare", "-rm", "--propagation", "private"),
        prelude=f"mount -t tmpfs -o size=4m tmpfs {store.parent} || exit 77",
        fill=f"dd if=/dev/zero of={store.parent}/fill bs=4k 2>/dev/null",
    )  # fmt: skip
    assert "disk is full" in _one_line_error(second, store)
    _survived(after)


def test_a_file_size_limit_during_a_run_is_one_line_and_the_store_survives(
    write_suite: SuiteWriter, tmp_path: Path
) -> None:
    """Writes past RLIMIT_FSIZE fail as on a bad or full disk, for any user on Linux."""
    store = tmp_path / "disk" / "r.db"
    store.parent.mkdir()
    (tmp_path / "limit.py").write_text(LIMIT_FILE_SIZE, encoding="utf-8")
    second, after = _second_run_fails(write_suite(CAPS), store, limit=f"{sys.executable} {tmp_path}/limit.py")
    assert "nothing committed was lost" in _one_line_error(second, store)
    _survived(after)


# Fuzz: whatever bytes sit at --store, Store() opens them or raises InputError, quickly.


@functools.cache
def _real_store_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        return _real_store(Path(scratch) / "r.db").read_bytes()


@st.composite
def _damaged_stores(draw: st.DrawFn) -> bytes:
    real = _real_store_bytes()
    how = draw(st.sampled_from(["random", "sqlite header", "truncated", "patched", "truncated and patched"]))
    if how == "random":
        return draw(st.binary(max_size=9000))
    if how == "sqlite header":
        return real[:100] + draw(st.binary(max_size=9000))
    data = bytearray(real[: draw(st.integers(0, len(real)))] if how.startswith("truncated") else real)
    if how.endswith("patched") and data:
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            chunk = draw(st.binary(min_size=1, max_size=64))
            data[at : at + len(chunk)] = chunk[: len(data) - at]
    return bytes(data)


@settings(max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(blob=_damaged_stores(), read_only=st.booleans())
def test_any_bytes_as_the_store_open_or_give_one_input_error(blob: bytes, read_only: bool) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "r.db"
        path.write_bytes(blob)
        try:
            store = Store(path, read_only=read_only, timeout=1)
        except InputError as err:
            assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
            return
        try:  # what `nerbench runs` and a report read
            for run in store.runs():
                store.cells(run["id"])
            store.predictions("k1")
            store.batch_totals("k1")
            if not read_only:  # and what `nerbench run` writes
                _fill(store, "r2", documents=3)
        except InputError as err:
            assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
        finally:
            store.close()


@pytest.mark.parametrize(("mask", "expected"), [(0o000, 0o666), (0o002, 0o664), (0o027, 0o640)])
def test_a_new_store_and_its_wal_files_get_0666_less_the_umask(tmp_path: Path, mask: int, expected: int) -> None:
    """SQLite alone makes a database 0644 whatever the umask; the store follows the umask like every other file."""
    old = os.umask(mask)
    try:
        store = Store(tmp_path / "new" / "r.db")
        _fill(store)
        made = [p for p in (tmp_path / "new").iterdir() if p.name.startswith("r.db")]
        assert {p.name for p in made} >= {"r.db", "r.db-wal", "r.db-shm"}
        assert {p.name: oct(p.stat().st_mode & 0o777) for p in made} == {p.name: oct(expected) for p in made}
        store.close()
        os.chmod(tmp_path / "new" / "r.db", 0o600)  # an existing store keeps its mode
        Store(tmp_path / "new" / "r.db").close()
        assert (tmp_path / "new" / "r.db").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
