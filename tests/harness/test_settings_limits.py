"""Every numeric setting has a documented upper limit, and the relaxed-matching settings are checked."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from nerbench import limits
from nerbench.errors import InputError
from nerbench.harness.suite import Settings, load_suite


def test_every_numeric_setting_has_a_limit() -> None:
    numeric = [f.name for f in fields(Settings) if isinstance(f.default, int | float)]
    assert sorted(numeric) == sorted(limits.SETTINGS)


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("min_overlap: 2", "setting 'min_overlap' must be at most 1"),
        ("max_failed_share: 1.5", "setting 'max_failed_share' must be at most 1"),
        ("overlap_measure: dice", "must be gold or iou"),
        ("min_overlap_by_label: {DATE: 3}", "must map labels to shares from 0 to 1"),
        ("min_overlap_by_label: [DATE]", "must map labels to shares from 0 to 1"),
    ],
)
def test_relaxed_matching_settings_are_checked(tmp_path: Path, setting: str, needle: str) -> None:
    (tmp_path / "g.jsonl").write_text('{"text": "Ada", "spans": []}\n', encoding="utf-8")
    suite = tmp_path / "s.yaml"
    suite.write_text(
        f"datasets: [{{name: d, path: g.jsonl}}]\nmodels: [{{name: m, adapter: 'tests.fakes:Capitalised'}}]\n"
        f"settings:\n  {setting}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=needle):
        load_suite(suite)
    ok = tmp_path / "ok.yaml"
    ok.write_text(suite.read_text().replace(setting, "min_overlap_by_label: {DATE: 0.8}"), encoding="utf-8")
    assert load_suite(ok).settings.min_overlap_by_label == {"DATE": 0.8}
