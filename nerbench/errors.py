"""The small exception hierarchy nerbench raises; the CLI maps it to exit codes."""

from __future__ import annotations

from pathlib import Path


class NerbenchError(Exception):
    """Base of every error nerbench means a user to read (exit status 2 at the CLI)."""


class InputError(NerbenchError):
    """Bad input: a file, a line in it, what is wrong, what to do.

    ``str(err)`` is the one line the CLI prints.
    """

    def __init__(self, problem: str, *, path: str | Path | None = None, line: int | None = None) -> None:
        self.problem = problem
        self.path = None if path is None else str(path)
        self.line = line
        where = self.path or ""
        if where and line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {problem}" if where else problem)


class ConfigError(NerbenchError):
    """A bad option, suite entry, label map or command-line value."""


class MissingExtraError(NerbenchError):
    """An optional library is not installed; the message names the pip extra."""

    def __init__(self, library: str, extra: str) -> None:
        super().__init__(f"{library} is not installed: pip install 'nerbench[{extra}]'")
