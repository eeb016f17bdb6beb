"""Session-scoped small local models (built once per test process) for the local-family adapter tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapters.models import local_models
from tests.harness.conftest import gold_files, write_suite  # noqa: F401  (fixtures for `nerbench run` tests)


@pytest.fixture(scope="session")
def gliner_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("gliner")
    return local_models.build_gliner(tmp_path_factory.mktemp("gliner"))


@pytest.fixture(scope="session")
def flair_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("flair")
    return local_models.build_flair(tmp_path_factory.mktemp("flair"))


@pytest.fixture(scope="session")
def stanza_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("stanza")
    return local_models.build_stanza(tmp_path_factory.mktemp("stanza"))
