"""SIGINT and SIGTERM stop any command promptly: :class:`Interrupted` unwinds it, and the CLI says how to go on.

While :func:`signals_interrupt` is active, both signals raise :class:`Interrupted` in the main
thread wherever it waits (a worker's reply, a sleep, a store write): a run marks itself
interrupted and kills its workers' process groups on the way out, and ``main`` prints one
line (with ``hint``, e.g. the command that resumes the run) and exits 130 or 143.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from nerbench.harness.store import DEFAULT_STORE


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds everything (a run marks itself interrupted and kills its workers).

    A BaseException, so no ``except Exception`` swallows it; ``hint`` is what to do next.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.hint = ""


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM raise :class:`Interrupted` in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def resume_command(suite_file: Path, store: Path, out_dir: Path | None, flags: Mapping[str, object]) -> str:
    """The command that resumes a run: the same suite, store, directory and selection."""
    parts = ["nerbench", "run", str(suite_file), "--resume"]
    if store != DEFAULT_STORE:
        parts += ["--store", str(store)]
    if out_dir is not None:
        parts += ["--out", str(out_dir)]
    for flag, value in flags.items():
        if value is not None:
            parts += [flag, str(value)]
    return " ".join(parts)
