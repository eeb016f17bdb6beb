"""The worker's JSON-lines protocol, spoken over a real pipe to a real worker process."""

from __future__ import annotations

import json
import subprocess
import sys

import orjson

from nerbench.harness.worker import _encode

REGEX = [{"label": "ORG", "pattern": "Ação"}]


def _line(request: dict[str, object]) -> bytes:
    return json.dumps(request, ensure_ascii=False).encode("utf-8") + b"\n"


def _converse(lines: list[bytes]) -> list[dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-m", "nerbench.harness.worker"],
        input=b"".join(lines),
        capture_output=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_bad_lines_get_error_replies_and_the_worker_lives_on() -> None:
    replies = _converse(
        [
            b"{not json\n",
            b"[1, 2]\n",
            b"\n",  # blank lines are skipped, not answered
            b'{"op": "nope"}\n',
            b'{"op": "predict", "inputs": []}\n',
            _line({"op": "init", "config": {"name": "r", "adapter": "rules", "options": {"regex": REGEX}}}),
            b'{"op": "load"}\n',
            _line({"op": "predict", "inputs": [{"id": "d1", "text": "A Ação subiu.", "tokens": None}]}),
            b'{"op": "shutdown"}\n',
            b'{"op": "info"}\n',  # after shutdown: never read
        ]
    )
    assert [r["ok"] for r in replies] == [False, False, False, False, True, True, True, True]
    assert replies[0]["error"].startswith("bad request")
    assert replies[1]["error"] == "bad request"
    assert replies[2]["error"] == "unknown op 'nope'"
    assert "before init" in replies[3]["error"]
    assert replies[6]["results"] == [{"spans": [[2, 6, "ORG", None]], "id": "d1"}]  # code points, UTF-8 on the wire


def test_a_reply_that_cannot_be_encoded_becomes_an_error_reply() -> None:
    line = _encode({"ok": True, "describe": {"weights": object()}})
    assert line.endswith(b"\n")
    reply = orjson.loads(line)
    assert reply["ok"] is False
    assert reply["error"].startswith("reply not JSON")
