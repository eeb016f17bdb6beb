"""Model and dataset names as file names: the run directory's ``gold/``, ``predictions/`` and ``details/``.

The suite loader refuses two names that give one file name (compared case-insensitively,
for case-insensitive file systems), so no file of a run directory is written twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_NAME_BYTES = 100  # a cell's file name joins two names: both together stay under the usual 255 bytes


def safe_name(name: str) -> str:
    """A model or dataset name as a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def cell_file_stem(model: str, dataset: str) -> str:
    """The file name stem of one cell's files under ``predictions/`` and ``details/``."""
    return f"{safe_name(model)}__{safe_name(dataset)}"


def file_key(stem: str) -> str:
    """What two file names must differ in to be two files everywhere (case-insensitive file systems too)."""
    return stem.casefold()


def name_problem(name: str, kind: str) -> str | None:
    """Why ``name`` cannot name a model or dataset (``kind``), or None."""
    if not name.strip():
        return f"a {kind} name must not be empty"
    if len(safe_name(name).encode("utf-8")) > MAX_NAME_BYTES:
        return (
            f"{kind} name {name[:40]!r}... is too long: names become file names, keep them under "
            f"{MAX_NAME_BYTES} characters"
        )
    return None


def file_clash(names: Sequence[str], kind: str) -> tuple[str, str] | None:
    """The first of ``names`` alike another, or giving the same file name: (the problem, that name)."""
    seen: dict[str, str] = {}
    folder = "gold/" if kind == "dataset" else "predictions/"
    for name in names:
        if name in seen.values():
            return f"two {kind}s are named {name!r}: names must be unique", name
        key = file_key(safe_name(name))
        if key in seen:
            return (
                f"{kind}s {seen[key]!r} and {name!r} would write the same files ({folder}{safe_name(name)}...): "
                "rename one (file names keep letters, digits, '.', '_' and '-', and ignore case)",
                name,
            )
        seen[key] = name
    return None


def cell_clash(cells: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    """The first (model, dataset) cell whose files another's would overwrite (``a__b`` on ``c``, ``a`` on
    ``b__c``): (the problem, its model)."""
    seen: dict[str, tuple[str, str]] = {}
    for model, dataset in cells:
        stem = cell_file_stem(model, dataset)
        other = seen.setdefault(file_key(stem), (model, dataset))
        if other != (model, dataset):
            return (
                f"model {other[0]!r} on dataset {other[1]!r} and model {model!r} on dataset {dataset!r} would "
                f"write the same file (predictions/{stem}.jsonl): rename a model or a dataset",
                model,
            )
    return None
