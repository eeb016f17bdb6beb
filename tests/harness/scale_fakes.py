"""Fake adapters for the parallel and Ray runner tests: they log who predicted what, and when.

Named in a suite as ``adapter: tests.harness.scale_fakes:ClassName``. Each predict call appends one
line to ``options.times_log``: ``<model> <pid> <start> <end> <doc ids, comma-joined>`` (wall-clock
seconds), so a test sees which worker served which batch and whether two workers overlapped in time.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from nerbench.types import Span, TextInput
from tests.fakes import Capitalised


class Logged(Capitalised):
    """Capitalised, logging every predict call: model, worker pid, start and end time, document ids."""

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        start = time.time()
        out = super().predict(inputs)
        log = self.config.options.get("times_log")
        if log:
            line = f"{self.config.name} {os.getpid()} {start:.6f} {time.time():.6f} {','.join(i.id for i in inputs)}\n"
            with Path(log).open("a", encoding="utf-8") as fh:
                fh.write(line)
        return out


class KilledOnce(Logged):
    """Its process is killed (SIGKILL) on the first document containing ``options.marker`` the run meets:
    ``options.flag`` is written then (the killed process's id), and a later worker meeting the marker lives on."""

    def spans(self, item: TextInput) -> list[Span]:
        flag = Path(self.config.options["flag"])
        if self.config.options["marker"] in item.text and not flag.exists():
            flag.write_text(f"{os.getpid()}\n", encoding="utf-8")
            os.kill(os.getpid(), signal.SIGKILL)
        return super().spans(item)


def calls(log: Path) -> list[tuple[str, int, float, float, list[str]]]:
    """The call log's lines as (model, pid, start, end, document ids)."""
    rows = []
    for line in log.read_text(encoding="utf-8").splitlines():
        model, pid, start, end, ids = line.split(" ")
        rows.append((model, int(pid), float(start), float(end), ids.split(",")))
    return rows
