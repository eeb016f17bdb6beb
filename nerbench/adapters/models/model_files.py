"""What local-model adapters share: model identity for the prediction cache, versions, offset helpers.

A model named by a local path is identified by the hash of its files (so a
retrained model never reuses stale cached predictions); a model named by a hub
name by that name plus the library's version, since a hub revision cannot be
read without the network.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from nerbench.errors import ConfigError


def library_version(package: str) -> str:
    """The installed version of ``package``, or ``"absent"``."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"


def path_digest(path: Path, *, model: str) -> str:
    """sha256 of a model file, or of every file under a model directory (relative names and contents)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    try:
        for file in files:
            digest.update(str(file.relative_to(path) if file != path else file.name).encode())
            with file.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    except OSError as err:
        raise ConfigError(f"model {model!r}: cannot read {path}: {err.strerror}") from None
    return digest.hexdigest()


def model_identity(name_or_path: str, *, package: str, model: str, settings: Mapping[str, Any]) -> str:
    """``family:<files sha256 | hub name@library version>:<settings hash>`` for the prediction cache."""
    path = Path(name_or_path).expanduser()
    source = (
        f"sha256={path_digest(path, model=model)}" if path.exists() else f"{name_or_path}@{library_version(package)}"
    )
    options = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{package}:{source}:{options}"


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` with whitespace removed from both edges (may become empty)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def utf16_to_code_points(text: str) -> list[int]:
    """A table from UTF-16 code-unit offsets (Java's ``String`` indices) to code-point offsets.

    >>> utf16_to_code_points("a🙂b")
    [0, 1, 2, 2, 3]
    """
    table = []
    for i, ch in enumerate(text):
        table.append(i)
        if ord(ch) > 0xFFFF:
            table.append(i + 1)  # the low surrogate: an offset inside the character rounds up
    table.append(len(text))
    return table


def resolve_device(device: str, *, model: str) -> str:
    """``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (cuda when torch sees one) -> a torch device string."""
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"model {model!r}: option 'device' must be cpu, cuda, cuda:N or auto, got {device!r}")
    return device
