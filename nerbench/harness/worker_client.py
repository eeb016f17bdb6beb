"""The runner's side of a worker process: start it, send a request, wait with a deadline."""

from __future__ import annotations

import contextlib
import os
import queue
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import orjson


class WorkerFailure(Exception):
    """The worker crashed, was killed, or did not answer in time; its cells fail with this reason."""


class WorkerDied(WorkerFailure):
    """The worker process (or Ray actor) is gone: it crashed or was killed. Its batches can be sent again."""


class WorkerError(Exception):
    """The worker answered, but the request failed (an adapter raised in load, fit, ...)."""


class WorkerProcess:
    """One model's worker process speaking JSON lines over its stdin/stdout."""

    def __init__(self, python: str | None = None, *, env: dict[str, str] | None = None) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 (lives as long as the worker)
        try:
            self.proc = subprocess.Popen(
                [python or sys.executable, "-m", "nerbench.harness.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        except OSError as err:
            self.stderr.close()
            raise WorkerFailure(f"cannot start the worker with {python or sys.executable}: {err.strerror}") from None
        self._buffer = b""
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._writer: threading.Thread | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, op: str, *, timeout: float, **payload: Any) -> dict[str, Any]:
        """Send one request and return the reply; WorkerFailure when the worker is gone or too slow."""
        self.send(op, **payload)
        return self.receive(timeout=timeout, op=op)

    def send(self, op: str, **payload: Any) -> None:
        """Queue one request without waiting for its reply (replies come back in order).

        A thread writes, so a large request never blocks the runner while the worker
        is busy writing a large reply: requests can be pipelined safely.
        """
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, daemon=True)
            self._writer.start()
        self._outbox.put(orjson.dumps({"op": op, **payload}, option=orjson.OPT_APPEND_NEWLINE))

    def _write_loop(self) -> None:
        assert self.proc.stdin is not None
        while (data := self._outbox.get()) is not None:
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                return  # the worker is gone: the reader reports why

    def receive(self, *, timeout: float, op: str = "request") -> dict[str, Any]:
        """The next reply; WorkerFailure when the worker is gone or too slow, WorkerError when it failed."""
        reply = orjson.loads(self._read_line(timeout, op))
        if not reply.get("ok"):
            raise WorkerError(reply.get("error", "unknown error"))
        return dict(reply)

    def _read_line(self, timeout: float, op: str) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.kill()
                    raise WorkerFailure(f"timed out after {timeout:g} s in {op}")
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise WorkerDied(self._death())
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        if code is not None and code < 0:
            reason = f"worker killed by signal {signal.Signals(-code).name}"
        else:
            reason = f"worker exited with status {code}"
        tail = self.stderr_tail()
        return f"{reason}: {tail}" if tail else reason

    def stderr_tail(self, lines: int = 1) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])[:300]

    def kill(self) -> None:
        """Kill the worker's whole process group (what its libraries started too) and reap it.

        Safe from any thread: the thread that talks to the worker then sees it gone and closes it.
        """
        if self.proc.returncode is None:  # not reaped yet: its process group id cannot have been reused
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def close(self, *, wait: bool = True) -> None:
        """Ask the worker to stop and kill it if it does not (``wait``), or kill it now; then release its pipes."""
        if not wait:
            self.kill()
        elif self.proc.poll() is None:
            try:
                self.call("shutdown", timeout=10)
                self.proc.wait(timeout=10)
            except (WorkerFailure, WorkerError, subprocess.TimeoutExpired):
                self.kill()
        self._outbox.put(None)
        if self._writer is not None:
            self._writer.join(timeout=5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a request still buffered for a worker already gone
                    pipe.close()
        self.stderr.close()
