"""IBM Watson NLU: ``POST /v1/analyze?version=...`` and the IAM token service ``POST /identity/token``.

Mentions carry ``location: [start, end]`` in code points, end exclusive. A text
over 50,000 characters is refused, as the real service does.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import jwt

from tests.servers.base import FAILING, MALFORMED, Reply, Request, Service, find_entities

TYPES = {"PERSON": "Person", "LOCATION": "Location", "ORGANIZATION": "Organization"}


class WatsonNluService(Service):
    def __init__(self) -> None:
        super().__init__()
        self.apikeys: list[str] = []

    def answer(self, request: Request) -> Reply:
        path, _, query = request.path.partition("?")
        if path == "/identity/token":
            self.apikeys += parse_qs(request.body.decode()).get("apikey", [])
            now = int(time.time())
            token = jwt.encode(
                {"iat": now, "exp": now + 3600, "sub": "local"},
                "local-signing-key-of-at-least-32-bytes",
                algorithm="HS256",
            )
            body = {"access_token": token, "refresh_token": "r", "token_type": "Bearer", "expires_in": 3600}
            return Reply.json(200, {**body, "expiration": now + 3600})
        if path != "/v1/analyze" or "version" not in parse_qs(query):
            return Reply.json(404, {"error": f"no {path}", "code": 404})
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return Reply.json(401, {"error": "unauthorized", "code": 401})
        body = request.json()
        text = body["text"]
        if len(text) > 50_000:
            return Reply.json(413, {"error": "text too long", "code": 413})
        if FAILING in text:
            return self.server_error()
        if MALFORMED in text:
            return Reply.json(200, {"entities": [{"type": "Person", "text": "Ada"}], "language": "en"})  # no mentions
        self.bill(text)
        return Reply.json(200, self._entities(text, body["features"]["entities"]))

    def _entities(self, text: str, options: dict[str, Any]) -> dict[str, Any]:
        by_name: dict[str, dict[str, Any]] = {}
        for start, end, surface, kind in find_entities(text):
            if kind not in TYPES:
                continue
            entity = by_name.setdefault(
                surface, {"type": TYPES[kind], "text": surface, "relevance": 0.9, "count": 0, "mentions": []}
            )
            entity["count"] += 1
            if options.get("mentions"):
                entity["mentions"].append({"text": surface, "location": [start, end], "confidence": 0.95})
        usage = {"text_units": -(-len(text) // 10_000), "text_characters": len(text), "features": 1}
        return {"usage": usage, "language": "en", "entities": list(by_name.values())[: options.get("limit", 50)]}

    def server_error(self) -> Reply:
        return Reply.json(500, {"error": "internal error", "code": 500})

    def throttled(self) -> Reply:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return Reply.json(429, {"error": "too many requests", "code": 429}, **headers)
