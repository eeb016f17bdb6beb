"""Fake model adapters for testing the runner: real processes, deliberately misbehaving models.

Each is named in a suite as ``adapter: tests.fakes:ClassName``. They see only text,
as every adapter does; the oracle reads the answers from a gold file named in its
options, which is exactly what a real adapter cannot do.

They declare no options class, as a third party's adapter may not: their options
(``call_log``, ``load_delay``, ``marker``, ...) pass through unchecked. ``Declared``
is the same capitalised-word model with declared options, checked like a real adapter's.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.options import AdapterOptions, about, parse_config
from nerbench.types import Document, Span, TextInput

_WORD = re.compile(r"\b[A-Z][a-z]+\b")


class _Base:
    family: ClassVar[str] = "fake"
    trains: ClassVar[bool] = False

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.calls = 0
        self.chars = 0

    def _log(self, what: str) -> None:
        log = self.config.options.get("call_log")
        if log:
            with Path(log).open("a", encoding="utf-8") as fh:
                fh.write(f"{self.config.name} {what}\n")

    def load(self) -> None:
        self._log("load")
        pid_file = self.config.options.get("pid_file")
        if pid_file:  # the worker's process id, for tests that check it is gone
            with Path(pid_file).open("a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()}\n")
        delay = float(self.config.options.get("load_delay", 0))
        time.sleep(delay)

    def fit(self, documents: Sequence[Document]) -> None:
        self._log(f"fit {len(documents)}")

    def labels(self) -> frozenset[str]:
        return frozenset({"PER"})

    def usage(self) -> Usage:
        return Usage(requests=self.calls, characters=self.chars)

    def fingerprint(self) -> str:
        return f"{type(self).__name__}:1"

    def describe(self) -> dict[str, str]:
        return {"fake": type(self).__name__}

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        self._log(f"predict {len(inputs)}")
        self.calls += 1
        self.chars += sum(len(i.text) for i in inputs)
        delay = float(self.config.options.get("batch_delay", 0))
        if delay:
            time.sleep(delay)
        return [self.spans(i) for i in inputs]

    def spans(self, item: TextInput) -> list[Span]:
        return [Span(m.start(), m.end(), "PER") for m in _WORD.finditer(item.text)]


class Capitalised(_Base):
    """Tags every capitalised word as PER: a deterministic, imperfect model."""


class Oracle(_Base):
    """Returns the gold spans read from ``options.gold`` (a JSONL file)."""

    def load(self) -> None:
        super().load()
        self.gold: dict[str, list[dict[str, Any]]] = {}
        for line in Path(self.config.options["gold"]).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            self.gold[record["text"]] = record["spans"]

    def spans(self, item: TextInput) -> list[Span]:
        return [Span(s["start"], s["end"], s["label"]) for s in self.gold.get(item.text, [])]


class RaisesOn(_Base):
    """Raises on every document containing ``options.marker``."""

    def spans(self, item: TextInput) -> list[Span]:
        if self.config.options["marker"] in item.text:
            raise ValueError("this model cannot read this document")
        return super().spans(item)


class HangsOn(_Base):
    """Sleeps forever on a document containing ``options.marker``."""

    def spans(self, item: TextInput) -> list[Span]:
        if self.config.options["marker"] in item.text:
            time.sleep(3600)
        return super().spans(item)


class KilledOn(_Base):
    """Its process is killed (SIGKILL, as the OOM killer does) on a document containing ``options.marker``."""

    def spans(self, item: TextInput) -> list[Span]:
        if self.config.options["marker"] in item.text:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().spans(item)


class SlowTrainer(_Base):
    """Trains for ``options.fit_delay`` seconds (a CRF on a large corpus), then tags like Capitalised."""

    trains: ClassVar[bool] = True

    def fit(self, documents: Sequence[Document]) -> None:
        super().fit(documents)
        time.sleep(float(self.config.options.get("fit_delay", 0)))


class DiesSaying(_Base):
    """On a document containing ``options.marker``, writes ``options.say`` to stderr and exits (status 3)."""

    def spans(self, item: TextInput) -> list[Span]:
        if self.config.options["marker"] in item.text:
            sys.stderr.write(f"{self.config.options['say']}\n")
            sys.stderr.flush()
            os._exit(3)
        return super().spans(item)


class Flaky(_Base):
    """Non-deterministic: drops each span with probability one half (an unstable API)."""

    def spans(self, item: TextInput) -> list[Span]:
        return [s for s in super().spans(item) if random.random() < 0.5]


class Billed(_Base):
    """Reports billing units like a cloud API: 100-character units, 3 minimum per document."""

    def usage(self) -> Usage:
        return Usage(requests=self.calls, billing_units=self.units, billing_unit="100-character unit")

    def load(self) -> None:
        super().load()
        self.units = 0.0

    def spans(self, item: TextInput) -> list[Span]:
        self.units += max(3, -(-len(item.text) // 100)) * float(self.config.options.get("units_factor", 1))
        return super().spans(item)


class Sloppy(_Base):
    """Besides its capitalised words, returns a span past the end of the text and one whose text is wrong."""

    def spans(self, item: TextInput) -> list[Span]:
        n = len(item.text)
        return [*super().spans(item), Span(n - 2, n + 5, "PER"), Span(0, 3, "LOC", surface="xyz")]


@dataclass(frozen=True, kw_only=True)
class DeclaredOptions(AdapterOptions):
    """The options of :class:`Declared`."""

    call_log: str | None = field(default=None, metadata=about("a file each call is appended to"))
    load_delay: float = field(default=0.0, metadata=about("seconds load() sleeps", ge=0))
    batch_delay: float = field(default=0.0, metadata=about("seconds each predict() sleeps", ge=0))


class Declared(Capitalised):
    """Capitalised, with declared options: a third-party adapter that states them is checked before anything runs."""

    vocabulary: ClassVar[str] = "open"
    Options: ClassVar[type[AdapterOptions]] = DeclaredOptions

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.options = parse_config(DeclaredOptions, config)
