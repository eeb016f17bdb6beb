"""A small HTTP server on 127.0.0.1 for the cloud adapters' tests, with faults to inject.

Each provider module subclasses :class:`Service` and answers in that provider's
wire format from the deterministic :data:`GAZETTEER`; the SDK under test does the
HTTP. Faults are counted over all requests (so they hit whichever request comes
first, whatever the thread): ``throttle_first`` requests are throttled,
``fail_first`` more get a 500, ``always_fail`` fails everything, ``slow_first``
requests sleep ``slow_s`` first. A document containing ``GARBLE`` gets a
malformed reply; one containing ``BOOM`` always gets a 500. ``peak_in_flight``
is the most requests the server was handling at once (what ``concurrency`` caps).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# surface -> generic type; each provider renames the types
GAZETTEER = {
    "Ada Lovelace": "PERSON", "Alan Turing": "PERSON", "Grace Hopper": "PERSON", "Édouard Manet": "PERSON",
    "Zoë Kravitz": "PERSON", "Bjørn Borg": "PERSON", "Zürich": "LOCATION", "Paris": "LOCATION",
    "Łódź": "LOCATION", "Kyoto": "LOCATION", "Lagos": "LOCATION", "Acme Corp": "ORGANIZATION",
    "Monday": "DATE",
}  # fmt: skip
MALFORMED, FAILING = "GARBLE", "BOOM"


def find_entities(text: str) -> list[tuple[int, int, str, str]]:
    """Every gazetteer occurrence as (start, end, surface, type), code-point offsets, in text order."""
    found = []
    for surface, kind in GAZETTEER.items():
        start = text.find(surface)
        while start >= 0:
            found.append((start, start + len(surface), surface, kind))
            start = text.find(surface, start + 1)
    return sorted(found)


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, **headers: str) -> Reply:
        return cls(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), headers)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class Service:
    """Faults, a request log and the HTTP plumbing; subclasses implement ``answer``."""

    content_type = "application/json"
    auth_paths: tuple[str, ...] = ("/token", "/identity/token")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.answered: list[str] = []  # texts answered successfully (what the provider bills)
        self.throttle_first = 0
        self.fail_first = 0
        self.always_fail = False
        self.slow_first = 0
        self.slow_s = 0.0
        self.retry_after: str | None = None
        self._count = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._server: ThreadingHTTPServer | None = None

    # -- what a provider module implements
    def answer(self, request: Request) -> Reply:
        raise NotImplementedError

    def throttled(self) -> Reply:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return Reply.json(429, {"error": "rate limited"}, **headers)

    def server_error(self) -> Reply:
        return Reply.json(500, {"error": "internal error"})

    # -- plumbing
    def dispatch(self, request: Request) -> Reply:
        if request.path.split("?")[0] in self.auth_paths:  # token endpoints: no faults, not logged as requests
            return self.answer(request)
        with self.lock:
            self.requests.append(request)
            self._count += 1
            n = self._count
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return self._faulted(request, n)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _faulted(self, request: Request, n: int) -> Reply:
        if n <= self.slow_first:
            time.sleep(self.slow_s)
        if n <= self.throttle_first:
            return self.throttled()
        if n <= self.throttle_first + self.fail_first or self.always_fail:
            return self.server_error()
        return self.answer(request)

    def bill(self, text: str) -> None:
        with self.lock:
            self.answered.append(text)

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 (``port``: a given one, else any free one); the base URL."""
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                try:
                    reply = service.dispatch(request)
                except Exception as err:  # a bug in the fake shows up as a 500 with its reason
                    reply = Reply.json(500, {"error": f"test server: {type(err).__name__}: {err}"})
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.headers.pop("Content-Type", service.content_type))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    self.wfile.write(reply.body)

            do_POST = do_GET = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
