"""An OpenAI-compatible ``POST /v1/chat/completions``: the last user message is the document.

It answers ``{"entities": [{"text", "label", "occurrence"}]}`` from the gazetteer
(CoNLL labels). A document containing ``HALLUCINATE`` gets one entity that is
not in it, one containing ``lowercase`` gets its entities lower-cased, ``GARBLE``
gets prose instead of JSON. ``usage`` counts words (prompt: every message).
"""

from __future__ import annotations

import json

from tests.servers.base import FAILING, MALFORMED, Reply, Request, Service, find_entities

LABELS = {"PERSON": "PER", "LOCATION": "LOC", "ORGANIZATION": "ORG"}


class ChatService(Service):
    def __init__(self, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.bodies: list[dict[str, object]] = []
        self.refused_formats: set[str] = set()  # response_format types answered with HTTP 400, as older servers do

    def answer(self, request: Request) -> Reply:
        if request.path != "/v1/chat/completions":
            return Reply.json(404, {"error": {"message": f"no {request.path}"}})
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply.json(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
        body = request.json()
        self.bodies.append(body)
        kind = (body.get("response_format") or {}).get("type")
        if kind in self.refused_formats:
            message = f"response_format type {kind!r} is not supported by this server"
            return Reply.json(400, {"error": {"message": message, "type": "invalid_request_error"}})
        text = body["messages"][-1]["content"]
        if FAILING in text:
            return self.server_error()
        content = (
            "Sure! The entities are Ada and Alan." if MALFORMED in text else json.dumps({"entities": self._find(text)})
        )
        prompt = sum(len(m["content"].split()) for m in body["messages"])
        completion = len(content.split())
        with self.lock:
            self.prompt_tokens += prompt
            self.completion_tokens += completion
        self.bill(text)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        return Reply.json(200, {"id": "c1", "object": "chat.completion", "model": body["model"],
                                "choices": [choice], "usage": usage})  # fmt: skip

    def _find(self, text: str) -> list[dict[str, object]]:
        seen: dict[str, int] = {}
        entities: list[dict[str, object]] = []
        for _, _, surface, kind in find_entities(text):
            if kind not in LABELS:
                continue
            seen[surface] = seen.get(surface, 0) + 1
            shown = surface.lower() if "lowercase" in text else surface
            entities.append({"text": shown, "label": LABELS[kind], "occurrence": seen[surface]})
        if "HALLUCINATE" in text:
            entities.append({"text": "Charles Babbage", "label": "PER", "occurrence": 1})
        return entities

    def server_error(self) -> Reply:
        return Reply.json(500, {"error": {"message": "internal error", "type": "server_error"}})

    def throttled(self) -> Reply:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return Reply.json(429, {"error": {"message": "rate limit", "type": "rate_limit_error"}}, **headers)
