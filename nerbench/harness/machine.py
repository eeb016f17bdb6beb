"""What a run was measured on: machine, interpreter, library versions, git commit."""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

LIBRARIES = (
    "nerbench", "numpy", "scipy", "pandas", "spacy", "sklearn-crfsuite", "torch", "transformers", "gliner",
    "flair", "stanza", "boto3", "google-cloud-language", "ibm-watson", "seqeval", "nervaluate",
)  # fmt: skip


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)


def _gpus() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout  # fmt: skip
    except (subprocess.SubprocessError, OSError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def _git_commit(where: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
    except (subprocess.SubprocessError, OSError):
        return None
    return out.stdout.strip() or None


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a benchmark depends on (missing ones left out)."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def machine_info(project_dir: Path | None = None) -> dict[str, Any]:
    """A small, JSON-ready description of this machine and software."""
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "gpus": _gpus(),
        "python": platform.python_version(),
        "git_commit": _git_commit(project_dir or Path.cwd()),
    }


def missing_modules(names: Sequence[str], python: str | None = None) -> list[str]:
    """Which of ``names`` (Python modules) the interpreter ``python`` (default: this one) cannot import."""
    if not names:
        return []
    if python is None:
        return [n for n in names if _absent(n)]
    probe = (
        "import importlib.util, sys\n"
        "def absent(n):\n"
        "    try:\n        return importlib.util.find_spec(n) is None\n"
        "    except ImportError:\n        return True\n"
        "print(' '.join(n for n in sys.argv[1:] if absent(n)))"
    )
    try:
        found = subprocess.run([python, "-c", probe, *names], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return [f"{python} ({err})"]
    return found.stdout.split() if found.returncode == 0 else [f"{python} ({found.stderr.strip()[-200:]})"]


def _absent(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ImportError:  # a parent package is missing
        return True
