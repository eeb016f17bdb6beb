"""A malformed suite file stops with one line naming the file, the line and the problem (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.conftest import nerbench

GOOD_DATASET = "datasets:\n  - name: news\n    path: data/news.jsonl\n"


@pytest.mark.parametrize(
    ("suite", "needle", "line"),
    [
        (GOOD_DATASET + "models:\n  - name: m\n    adapter: spacyy\n", "unknown adapter 'spacyy'", 6),
        (
            "datasets:\n  - name: news\n    path: data/missing.jsonl\nmodels:\n  - {name: m, adapter: rules}\n",
            "does not exist",
            3,
        ),
        (GOOD_DATASET + "models: [\n", "invalid YAML", None),
        (
            "schema: {PER: a person, LOC: a place}\n"
            + GOOD_DATASET
            + "models:\n  - name: m\n    adapter: rules\n    label_map: {PERSON: PER, CITY: TOWN}\n",
            "TOWN",
            8,
        ),
        (
            GOOD_DATASET + "models:\n  - name: m\n    adapter: rules\nsettings:\n  batch_size: many\n",
            "must be a number",
            8,
        ),
        (GOOD_DATASET + "modles: []\n", "unknown top-level key 'modles'", 4),
    ],
    ids=["unknown-adapter", "missing-path", "bad-yaml", "unknown-map-label", "bad-setting", "typo-key"],
)
def test_malformed_suite_is_one_line_exit_2(tmp_path: Path, suite: str, needle: str, line: int | None) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "news.jsonl").write_text('{"text": "Ada flew.", "spans": []}\n', encoding="utf-8")
    path = tmp_path / "suite.yaml"
    path.write_text(suite, encoding="utf-8")
    proc = nerbench("run", path, "--store", tmp_path / "r.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    assert needle in message and str(path) in message
    if line is not None:
        assert f"{path}:{line}:" in message
    assert not (tmp_path / "r.db").exists() or proc.returncode == 2
