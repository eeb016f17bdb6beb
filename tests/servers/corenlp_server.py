"""A small Stanford CoreNLP server stand-in on 127.0.0.1 that speaks CoreNLP's real JSON output.

It answers ``GET /ping`` and ``POST /?properties=<json>`` with the body as UTF-8
text, like ``StanfordCoreNLPServer``. Its "NER" tags capitalised words that do
not start a sentence as PERSON (runs of them become one mention) and names in
:data:`PLACES` as LOCATION. Offsets are counted in UTF-16 code units, as the
Java server counts them. Honours ``tokenize.whitespace``, ``ssplit.eolonly`` and
``ner.buildEntityMentions``; a body containing ``FAIL500`` gets HTTP 500.
Run it alone with ``python -m tests.servers.corenlp_server PORT``.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PLACES = frozenset({"Paris", "Łódź", "Zürich", "Kyoto"})
_TOKEN = re.compile(r"\w+|[^\w\s]")


def utf16(text: str, index: int) -> int:
    """The UTF-16 code-unit offset of code point ``index`` (what Java's String.length counts)."""
    return len(text[:index].encode("utf-16-le")) // 2


def _tokens(text: str, props: dict[str, Any]) -> list[list[tuple[int, int]]]:
    """Sentences of (start, end) code-point tokens."""
    whitespace = str(props.get("tokenize.whitespace", "false")) == "true"
    spans = [m.span() for m in re.finditer(r"\S+" if whitespace else _TOKEN, text)]
    sentences: list[list[tuple[int, int]]] = [[]]
    eol_only = str(props.get("ssplit.eolonly", "false")) == "true"
    for k, (s, e) in enumerate(spans):
        if sentences[-1] and "\n" in text[spans[k - 1][1] : s]:
            sentences.append([])
        sentences[-1].append((s, e))
        if not eol_only and text[s:e] in {".", "!", "?"}:
            sentences.append([])
    return [s for s in sentences if s]


def _tag(words: list[str]) -> list[str]:
    return ["LOCATION" if w in PLACES else "PERSON" if k and w.istitle() else "O" for k, w in enumerate(words)]


def annotate(text: str, props: dict[str, Any]) -> dict[str, Any]:
    """CoreNLP's JSON for ``text``: sentences with tokens (ner tags) and entitymentions."""
    out, doc_token = [], 0
    for index, sentence in enumerate(_tokens(text, props)):
        tags = _tag([text[s:e] for s, e in sentence])
        tokens = [
            {"index": k + 1, "word": text[s:e], "originalText": text[s:e], "ner": tag,
             "characterOffsetBegin": utf16(text, s), "characterOffsetEnd": utf16(text, e)}
            for k, ((s, e), tag) in enumerate(zip(sentence, tags, strict=True))
        ]  # fmt: skip
        mentions: list[dict[str, Any]] = []
        k = 0
        while k < len(tags):
            end = k + 1
            while tags[k] != "O" and end < len(tags) and tags[end] == tags[k]:
                end += 1
            if tags[k] != "O":
                start, stop = sentence[k][0], sentence[end - 1][1]
                mention = {"docTokenBegin": doc_token + k, "docTokenEnd": doc_token + end, "tokenBegin": k}
                mention.update({"tokenEnd": end, "text": text[start:stop], "ner": tags[k]})
                mention.update({"characterOffsetBegin": utf16(text, start), "characterOffsetEnd": utf16(text, stop)})
                mentions.append(mention)
            k = end
        entry: dict[str, Any] = {"index": index, "tokens": tokens}
        if str(props.get("ner.buildEntityMentions", "true")) != "false":
            entry["entitymentions"] = mentions
        out.append(entry)
        doc_token += len(sentence)
    return {"sentences": out}


class CoreNlpHandler(BaseHTTPRequestHandler):
    server: CoreNlpServer

    def do_GET(self) -> None:
        self._reply(200, b"pong\n" if self.path.startswith("/ping") else b"")

    def do_POST(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        props = json.loads(query.get("properties", ["{}"])[0])
        text = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
        with self.server.lock:
            self.server.requests.append((props, text))
        if "FAIL500" in text:
            self._reply(500, b"java.lang.RuntimeException: boom")
            return
        self._reply(200, json.dumps(annotate(text, props), ensure_ascii=False).encode("utf-8"))

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class CoreNlpServer(ThreadingHTTPServer):
    """The stand-in server; ``requests`` keeps (properties, text) of every POST."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), CoreNlpHandler)
        self.requests: list[tuple[dict[str, Any], str]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


if __name__ == "__main__":
    server = CoreNlpServer(int(sys.argv[1]) if len(sys.argv) > 1 else 9000)
    print(server.url, flush=True)
    server.serve_forever()
