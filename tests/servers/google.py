"""Google Cloud Natural Language REST: ``POST /v1|v2/documents:analyzeEntities`` and an OAuth token endpoint.

Offsets follow the request's ``encodingType``: code points for UTF32, UTF-16 code
units for UTF16, UTF-8 bytes for UTF8, -1 for NONE, as the real API does; enums
in replies are integers (the client asks ``$alt=json;enum-encoding=int``). The
word "company" is a COMMON mention of the organisation. ``POST /token`` answers
a token request; analyze requests need its bearer token or a self-signed JWT.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.servers.base import FAILING, MALFORMED, Reply, Request, Service, find_entities

TYPES = {"PERSON": 1, "LOCATION": 2, "ORGANIZATION": 3, "DATE": 11}
ENCODINGS = {"NONE": 0, "UTF8": 1, "UTF16": 2, "UTF32": 3}
PROPER, COMMON = 1, 2
TOKEN = "ya29.local-test-token"


def write_service_account(path: Path, token_uri: str, key_id: str) -> rsa.RSAPrivateKey:
    """A service-account JSON file with a fresh RSA key (``key_id`` names it) and a local token endpoint."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    credentials = {
        "type": "service_account", "project_id": "local", "private_key_id": key_id,
        "private_key": pem.decode(), "client_email": "bench@local.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": token_uri,
    }  # fmt: skip
    path.write_text(json.dumps(credentials), encoding="utf-8")
    return key


def _offset(text: str, index: int, encoding: int) -> int:
    if encoding == 3:
        return index
    if encoding == 2:
        return len(text[:index].encode("utf-16-le")) // 2
    if encoding == 1:
        return len(text[:index].encode("utf-8"))
    return -1


class GoogleLanguageService(Service):
    def __init__(self) -> None:
        super().__init__()
        self.token_requests: list[str] = []

    def answer(self, request: Request) -> Reply:
        path = request.path.split("?")[0]
        if path == "/token":
            self.token_requests.append(request.body.decode())
            return Reply.json(200, {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})
        if path not in ("/v1/documents:analyzeEntities", "/v2/documents:analyzeEntities"):
            return Reply.json(404, {"error": {"code": 404, "message": f"no {path}"}})
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {TOKEN}" and not (
            auth.startswith("Bearer ") and auth.count(".") == 2
        ):  # or self-signed JWT
            return Reply.json(401, {"error": {"code": 401, "message": "unauthenticated", "status": "UNAUTHENTICATED"}})
        body = request.json()
        text = body["document"]["content"]
        encoding = body.get("encodingType", 0)
        encoding = ENCODINGS.get(encoding, 0) if isinstance(encoding, str) else int(encoding)
        if FAILING in text:
            return self.server_error()
        if MALFORMED in text:
            return Reply(200, b"<html>upstream proxy error</html>", {"Content-Type": "text/html"})
        self.bill(text)
        return Reply.json(200, self._entities(text, encoding, v2=path.startswith("/v2")))

    def _entities(self, text: str, encoding: int, *, v2: bool) -> dict[str, Any]:
        by_name: dict[str, dict[str, Any]] = {}
        for start, _, surface, kind in find_entities(text):
            entity = by_name.setdefault(surface, {"name": surface, "type": TYPES[kind], "metadata": {}, "mentions": []})
            mention = {"text": {"content": surface, "beginOffset": _offset(text, start, encoding)}, "type": PROPER}
            entity["mentions"].append(mention)
        if "company" in text and "Acme Corp" in by_name:
            start = text.index("company")
            mention = {"text": {"content": "company", "beginOffset": _offset(text, start, encoding)}, "type": COMMON}
            by_name["Acme Corp"]["mentions"].append(mention)
        entities = list(by_name.values())
        if v2:
            return {"entities": entities, "languageCode": "en", "languageSupported": True}
        for entity in entities:
            entity["salience"] = 0.5
        return {"entities": entities, "language": "en"}

    def server_error(self) -> Reply:
        return Reply.json(500, {"error": {"code": 500, "message": "internal", "status": "INTERNAL"}})

    def throttled(self) -> Reply:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        body = {"error": {"code": 429, "message": "quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
        return Reply.json(429, body, **headers)
