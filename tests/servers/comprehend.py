"""AWS Comprehend's JSON 1.1 protocol: ``POST /`` with ``X-Amz-Target: Comprehend_20171127.<Op>``.

Offsets are code points. Throttling is HTTP 400 ``ThrottlingException``; a text
over 5,000 UTF-8 bytes is refused with ``TextSizeLimitExceededException``, as the
real service does, so a splitting bug fails the test. Every entity scores 0.99
but "Alan Turing" (0.55, for ``min_score``); in a document containing
``MISTEXT`` each entity's ``Text`` is upper-cased, so it differs from the text
at its offsets.
"""

from __future__ import annotations

from typing import Any

from tests.servers.base import FAILING, MALFORMED, Reply, Request, Service, find_entities

TARGET = "Comprehend_20171127."
SCORES = {"Alan Turing": 0.55}  # the rest: 0.99
MISMATCHED = "MISTEXT"


class ComprehendService(Service):
    content_type = "application/x-amz-json-1.1"

    def throttled(self) -> Reply:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return Reply.json(400, {"__type": "ThrottlingException", "message": "Rate exceeded"}, **headers)

    def server_error(self) -> Reply:
        return Reply.json(500, {"__type": "InternalServerException", "message": "internal error"})

    def answer(self, request: Request) -> Reply:
        target = request.headers.get("x-amz-target", "")
        if request.path != "/" or not target.startswith(TARGET):
            return Reply.json(400, {"__type": "UnknownOperationException"})
        if "AWS4-HMAC-SHA256" not in request.headers.get("authorization", ""):
            return Reply.json(403, {"__type": "MissingAuthenticationTokenException"})
        body = request.json()
        op = target[len(TARGET) :]
        if op == "DetectEntities":
            return self._detect(body["Text"])
        if op == "BatchDetectEntities":
            return self._batch(body["TextList"])
        return Reply.json(400, {"__type": "UnknownOperationException", "message": op})

    def _too_big(self, text: str) -> bool:
        return len(text.encode("utf-8")) > 5000

    def _entities(self, text: str) -> list[dict[str, Any]] | None:
        if MALFORMED in text:
            return [{"Type": "PERSON", "Score": 0.9}]  # no offsets
        return [
            {
                "Score": SCORES.get(surface, 0.99), "Type": kind, "BeginOffset": start, "EndOffset": end,
                "Text": surface.upper() if MISMATCHED in text else surface,
            }
            for start, end, surface, kind in find_entities(text)
        ]  # fmt: skip

    def _detect(self, text: str) -> Reply:
        if self._too_big(text):
            return Reply.json(400, {"__type": "TextSizeLimitExceededException", "message": "too long"})
        if FAILING in text:
            return self.server_error()
        self.bill(text)
        return Reply.json(200, {"Entities": self._entities(text)})

    def _batch(self, texts: list[str]) -> Reply:
        if len(texts) > 25:
            return Reply.json(400, {"__type": "BatchSizeLimitExceededException"})
        if any(self._too_big(t) for t in texts):
            return Reply.json(400, {"__type": "TextSizeLimitExceededException", "message": "too long"})
        results, errors = [], []
        for index, text in enumerate(texts):
            if FAILING in text:
                errors.append({"Index": index, "ErrorCode": "InternalServerException", "ErrorMessage": "failed"})
                continue
            self.bill(text)
            results.append({"Index": index, "Entities": self._entities(text)})
        return Reply.json(200, {"ResultList": results, "ErrorList": errors})
