"""The quickstart suite as a dict with absolute paths, for tests that run variants of its fast models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def quickstart_suite() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(the suite, its models by name), every file it names made absolute (the suite is written elsewhere)."""
    suite = yaml.safe_load((REPO / "suites/quickstart.yaml").read_text(encoding="utf-8"))
    for d in suite["datasets"]:
        d["path"], d["train"] = (str((REPO / "suites" / d[k]).resolve()) for k in ("path", "train"))
    models = {m["name"]: m for m in suite["models"]}
    for name in ("rules-general", "rules-finance"):
        models[name].update({k: str(REPO / "suites" / models[name][k]) for k in ("patterns", "regex")})
    return suite, models
