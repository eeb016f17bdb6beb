"""notebooks/compare_models.ipynb runs top to bottom (nbclient) on a quickstart run made here."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.harness.conftest import REPO, nerbench

# The quickstart models that need no download or fine-tuning (the suite also lists spaCy and a fine-tuned model).
FAST = ("--models", "rules-general,rules-finance,crf")

NOTEBOOK = REPO / "notebooks" / "compare_models.ipynb"


def test_the_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_the_notebook_runs_on_a_quickstart_run(tmp_path: Path) -> None:
    nerbench(
        "run",
        REPO / "suites/quickstart.yaml",
        *FAST,
        "--out",
        tmp_path / "run",
        "--store",
        tmp_path / "db",
        cwd=tmp_path,
    )
    nerbench("run", REPO / "suites/quickstart.yaml", *FAST, "--out", tmp_path / "again", "--store", tmp_path / "db",
             cwd=tmp_path)  # fmt: skip
    os.environ["NERBENCH_RUN"], os.environ["NERBENCH_OTHER_RUN"] = str(tmp_path / "run"), str(tmp_path / "again")
    try:
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(
            notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        del os.environ["NERBENCH_RUN"], os.environ["NERBENCH_OTHER_RUN"]
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs)
    assert "crf" in text and "delta_f1" in text and "COR" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3, "the charts must render when the notebook is executed"
    assert "entity length (words)" in text and "unseen" in text  # the bucket breakdown
