"""What every adapter of a paid remote API shares: retries, concurrency, timeouts, usage, splitting.

One place, not copied into each adapter:

- :func:`call_with_retries` retries a request that was throttled or hit a server
  error (HTTP 429 and 5xx, or the provider's throttling code), with exponential
  backoff and full jitter, never waiting less than the server's ``Retry-After``;
  anything else fails at once.
- :func:`predict_each` sends independent requests through a thread pool of the
  model's ``concurrency`` and gathers the spans. A request that still fails
  after its last retry fails the documents it carried, individually: the rest
  are returned through :class:`~nerbench.adapters.models.base.DocumentErrors`,
  so no document that succeeded is ever sent (and paid for) again.
- :class:`Meter` counts requests, billed request characters and tokens, from
  several threads at once.
- :func:`split_text` cuts a document over a provider's size limit on sentence
  or whitespace boundaries (never inside a character), for adapters and for
  ``nerbench estimate``, which must count the same requests.

Options declared for every remote adapter (:class:`RemoteOptions`, which each remote
adapter's options class extends): ``concurrency`` (parallel requests, default 4),
``request_timeout_s`` (default 60), ``max_retries`` (default 5), ``backoff_s`` (first
backoff, default 0.5), ``max_backoff_s`` (default 30).
"""

from __future__ import annotations

import bisect
import email.utils
import itertools
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nerbench.adapters.models.base import DocumentErrors, Usage
from nerbench.adapters.models.options import AdapterOptions, about
from nerbench.types import Span

T = TypeVar("T")
R = TypeVar("R")

_SENTENCE_END = re.compile(r"(?:[.!?。！？]+[\"')\]]*\s+|\n\s*)")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, kw_only=True)
class RemoteOptions(AdapterOptions):
    """The options every remote adapter shares: how it sends requests. Each remote adapter's options derive from it."""

    concurrency: int = field(default=4, metadata=about(ge=1, help="parallel requests"))
    request_timeout_s: float = field(
        default=60.0, metadata=about(gt=0, help="seconds before a request is abandoned (then retried)")
    )
    max_retries: int = field(
        default=5, metadata=about(ge=0, help="retries of a throttled or failed request (429, 5xx, dropped connection)")
    )
    backoff_s: float = field(
        default=0.5, metadata=about(ge=0, help="the first backoff in seconds, doubled at each retry (full jitter)")
    )
    max_backoff_s: float = field(
        default=30.0, metadata=about(ge=0, help="the longest wait between retries, Retry-After included")
    )


@dataclass(frozen=True)
class Retry:
    """A failed request that is worth retrying, and how long the server asked us to wait."""

    after_s: float | None = None


Classifier = Callable[[BaseException], "Retry | None"]


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def connection_retry(err: BaseException, modules: tuple[str, ...], names: frozenset[str]) -> Retry | None:
    """A dropped connection or timeout raised by a client library is retried.

    Matched by the exception's module and class names (``names`` anywhere in its
    bases), so this module never imports a provider's library.
    """
    bases = {cls.__name__ for cls in type(err).__mro__}
    return Retry() if type(err).__module__.startswith(modules) and bases & names else None


REQUESTS_ERRORS = (("requests", "urllib3"), frozenset({"ConnectionError", "Timeout"}))  # SDKs built on requests


def http_retry(status: int | None, headers: Mapping[str, Any] | None) -> Retry | None:
    """Throttling (429) and server errors (5xx) are retried; other statuses are not."""
    if status is None or not (status == 429 or 500 <= status < 600):
        return None
    value = None
    for key, item in (headers or {}).items():
        if str(key).lower() == "retry-after":
            value = str(item)
    return Retry(retry_after_seconds(value))


def backoff_delay(attempt: int, settings: RemoteOptions, retry: Retry, rng: random.Random) -> float:
    """Full-jitter exponential backoff, but never shorter than the server's Retry-After (capped)."""
    ceiling = min(settings.max_backoff_s, settings.backoff_s * 2**attempt)
    delay = rng.uniform(0.0, ceiling)
    if retry.after_s is not None:
        delay = max(delay, min(retry.after_s, settings.max_backoff_s))
    return delay


def call_with_retries(
    call: Callable[[], T],
    classify: Classifier,
    settings: RemoteOptions,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """``call()``, retried while ``classify`` says the failure is transient and retries are left."""
    rng = rng or random.Random()
    for attempt in itertools.count():
        try:
            return call()
        except Exception as err:
            retry = classify(err)
            if retry is None or attempt >= settings.max_retries:
                raise
            sleep(backoff_delay(attempt, settings, retry, rng))
    raise AssertionError("unreachable")


def error_reason(err: BaseException) -> str:
    """One line naming the error, for a failed document's record."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


class Meter:
    """Usage since load, counted from many threads: requests, billed characters, tokens."""

    def __init__(self, billing_unit: str = "") -> None:
        self._lock = threading.Lock()
        self.billing_unit = billing_unit
        self.requests = 0
        self.characters = 0
        self.request_characters: list[int] = []
        self.input_tokens = 0
        self.output_tokens = 0

    def billed(self, *request_chars: int) -> None:
        """One request sent; the characters of each billed item in it (a batch bills each document)."""
        with self._lock:
            self.requests += 1
            self.request_characters.extend(request_chars)
            self.characters += sum(request_chars)

    def tokens(self, prompt: int, completion: int, characters: int) -> None:
        with self._lock:
            self.requests += 1
            self.input_tokens += prompt
            self.output_tokens += completion
            self.characters += characters

    def usage(self) -> Usage:
        with self._lock:
            return Usage(
                requests=self.requests,
                billing_unit=self.billing_unit,
                input_tokens=self.input_tokens,
                output_tokens=self.output_tokens,
                characters=self.characters,
                request_characters=tuple(self.request_characters),
            )


def run_all(items: Sequence[T], work: Callable[[T], R], concurrency: int) -> list[R | Exception]:
    """``work`` on every item, at most ``concurrency`` at a time; an exception is returned, not raised."""

    def guarded(item: T) -> R | Exception:
        try:
            return work(item)
        except Exception as err:  # one item's failure is that item's result
            return err

    if concurrency <= 1 or len(items) <= 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(guarded, items))


def gather(count: int, spans: Mapping[int, list[Span]], errors: Mapping[int, str]) -> list[list[Span]]:
    """Spans for inputs ``0..count-1``; raises DocumentErrors when any input failed."""
    results = [spans.get(i, []) for i in range(count)]
    missing = {i: "no result for this document" for i in range(count) if i not in spans and i not in errors}
    if errors or missing:
        raise DocumentErrors(results, {**missing, **errors})
    return results


def predict_each(
    texts: Sequence[str], request: Callable[[str], list[Span]], settings: RemoteOptions
) -> list[list[Span]]:
    """One request per text through the thread pool; failures fail their document only."""
    outcomes = run_all(list(texts), request, settings.concurrency)
    spans = {i: out for i, out in enumerate(outcomes) if not isinstance(out, Exception)}
    errors = {i: error_reason(out) for i, out in enumerate(outcomes) if isinstance(out, Exception)}
    return gather(len(texts), spans, errors)


def split_text(text: str, limit: int, *, unit: str = "chars") -> list[tuple[int, int]]:
    """``[start, end)`` code-point ranges covering ``text``, each at most ``limit`` in ``unit``.

    ``unit`` is ``chars`` (code points) or ``utf8`` (bytes). A cut goes after the
    last sentence end in reach, else after the last whitespace, else at the last
    whole character that fits: a character is never split.
    """
    if unit not in ("chars", "utf8"):
        raise ValueError(f"unknown unit {unit!r}")
    sizes = (len(c.encode("utf-8")) for c in text) if unit == "utf8" else itertools.repeat(1, len(text))
    cumulative = [0, *itertools.accumulate(sizes)]  # size of text[:i]
    ranges, start = [], 0
    while cumulative[-1] - cumulative[start] > limit:
        reach = bisect.bisect_right(cumulative, cumulative[start] + limit) - 1
        window = text[start:reach]
        cut = _last_end(_SENTENCE_END, window) or _last_end(_SPACE, window) or len(window)
        if cut <= 0:
            raise ValueError(f"a single character is larger than the limit of {limit}")
        ranges.append((start, start + cut))
        start += cut
    if start < len(text) or not ranges:
        ranges.append((start, len(text)))
    return ranges


def _last_end(pattern: re.Pattern[str], window: str) -> int:
    ends = [m.end() for m in pattern.finditer(window) if m.end() > 0]
    return ends[-1] if ends else 0


def shifted(spans: Sequence[Span], offset: int) -> list[Span]:
    """Spans of a chunk moved back into the whole document's offsets."""
    return [Span(s.start + offset, s.end + offset, s.label, s.surface) for s in spans]
