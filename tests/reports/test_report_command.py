"""`nerbench report RUN [--out FILE] [--compare RUN2]` through the real CLI, on runs of real models.

Three runs of the shipped ``general`` gold set share one store: ``a`` (rules + a CRF trained 100 iterations),
``b`` (the same rules, a CRF stopped after 8 iterations, and a regex-only model ``a`` lacks) and ``c``
(suite ``a`` again on the first 12 documents only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.conftest import REPO, cell, nerbench, results
from tests.reports.test_browser import open_in_chromium

RULES = {"name": "rules-general", "adapter": "rules", "patterns": str(REPO / "suites/rules/general.jsonl"),
         "regex": str(REPO / "suites/rules/general_regex.yaml")}  # fmt: skip
DATES = {"name": "rules-dates", "adapter": "rules", "regex": [{"label": "DATE", "pattern": r"\b(?:19|20)\d{2}\b"}]}


@dataclass(frozen=True)
class Runs:
    """The work directory (the CLI's cwd, holding the store ``db``) and each run's id and directory."""

    work: Path
    ids: dict[str, str]

    def dir(self, name: str) -> Path:
        return self.work / f"run-{name}"


def _suite(work: Path, name: str, models: list[dict[str, Any]]) -> Path:
    suite = {"name": "compare", "datasets": [{"name": "general", "path": str(REPO / "datasets/general/test.jsonl"),
             "train": str(REPO / "datasets/general/train.jsonl")}], "models": models,
             "settings": {"latency_samples": 3, "warmup": 1, "bootstrap": 200}}  # fmt: skip
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    work = tmp_path_factory.mktemp("report-command")
    suite_a = _suite(work, "a", [RULES, {"name": "crf", "adapter": "crf", "max_iterations": 100}])
    suite_b = _suite(work, "b", [RULES, {"name": "crf", "adapter": "crf", "max_iterations": 8}, DATES])
    ids = {}
    for name, suite, extra in (("a", suite_a, ()), ("b", suite_b, ()), ("c", suite_a, ("--limit", "12"))):
        nerbench("run", suite, *extra, "--out", f"run-{name}", "--store", "db", cwd=work)
        ids[name] = results(work / f"run-{name}")["run"]["id"]
    return Runs(work, ids)


def report(runs: Runs, *args: str | Path) -> list[str]:
    """Run ``nerbench report`` in the runs' work directory; the paths it says it wrote."""
    proc = nerbench("report", *args, "--store", "db", cwd=runs.work)
    assert proc.stderr == ""
    return [line.removeprefix("wrote ") for line in proc.stdout.splitlines()]


def md_run_id(markdown_file: Path) -> str:
    first = markdown_file.read_text(encoding="utf-8").splitlines()[0]
    found = re.fullmatch(r"## nerbench: compare \(run (\S+)\)", first)
    assert found, first
    return found.group(1)


# ---------------------------------------------------------------- which run, and where the files go


def test_a_run_directory_with_out_writes_the_page_and_its_markdown_and_csv_named_after_it(runs: Runs) -> None:
    out = runs.work / "elsewhere"
    out.mkdir()
    for name in ("report.md", "results.csv"):  # another report's files (or the user's) in the same folder
        (out / name).write_text(f"not nerbench's {name}", encoding="utf-8")
    written = report(runs, "run-a", "--out", "elsewhere/page.html")
    assert written == ["elsewhere/page.html", "elsewhere/page.md", "elsewhere/page.csv"]
    assert sorted(p.name for p in out.iterdir()) == ["page.csv", "page.html", "page.md", "report.md", "results.csv"]
    for name in ("report.md", "results.csv"):
        assert (out / name).read_text(encoding="utf-8") == f"not nerbench's {name}"  # untouched
    assert (out / "page.csv").read_bytes() == (runs.dir("a") / "results.csv").read_bytes()
    assert md_run_id(out / "page.md") == runs.ids["a"]
    html = (out / "page.html").read_text(encoding="utf-8")
    assert set(re.findall(r'<tr class="model-row[^"]*" data-model="([^"]+)"', html)) == {"rules-general", "crf"}
    assert "Compared with" not in html and "Compared with" not in (out / "page.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("target", "needle"),
    [("elsewhere-dir", "--out names a directory"), ("summary.md", "--out names a .md file"),
     ("summary.csv", "--out names a .csv file")],
)  # fmt: skip
def test_report_out_that_would_clash_with_its_siblings_is_refused(runs: Runs, target: str, needle: str) -> None:
    (runs.work / "elsewhere-dir").mkdir(exist_ok=True)
    proc = nerbench("report", "run-a", "--out", target, "--store", "db", cwd=runs.work, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and needle in proc.stderr, proc.stderr
    assert not (runs.work / "summary.md").exists() and not any((runs.work / "elsewhere-dir").iterdir())


def test_without_out_the_report_goes_into_the_run_directory_whose_csv_is_kept(runs: Runs) -> None:
    run_dir = runs.dir("a")
    (run_dir / "report.html").unlink()
    (run_dir / "report.md").unlink()
    csv_before = (run_dir / "results.csv").stat().st_mtime_ns
    assert report(runs, "run-a") == ["run-a/report.html", "run-a/report.md"]
    assert (run_dir / "report.html").exists() and md_run_id(run_dir / "report.md") == runs.ids["a"]
    assert (run_dir / "results.csv").stat().st_mtime_ns == csv_before


def test_a_run_id_from_the_store_gives_the_same_report_as_its_directory(runs: Runs) -> None:
    report(runs, "run-b", "--out", "from-dir/report.html")
    report(runs, runs.ids["b"], "--out", "from-id/report.html")
    for name in ("report.html", "report.md", "report.csv"):
        assert (runs.work / "from-id" / name).read_bytes() == (runs.work / "from-dir" / name).read_bytes(), name


def test_a_unique_id_prefix_picks_that_run_and_an_ambiguous_one_is_refused(runs: Runs) -> None:
    target, others = runs.ids["b"], [runs.ids["a"], runs.ids["c"]]
    prefix = next(target[:n] for n in range(1, len(target)) if not any(o.startswith(target[:n]) for o in others))
    report(runs, prefix, "--out", "by-prefix/report.html")
    assert md_run_id(runs.work / "by-prefix" / "report.md") == target
    ids = list(runs.ids.values())
    shared = next(ids[0][:n] for n in range(len(ids[0]), 0, -1) if all(i.startswith(ids[0][:n]) for i in ids))
    proc = nerbench("report", shared, "--store", "db", "--out", "ambiguous/report.html", cwd=runs.work, check=False)
    assert proc.returncode == 2
    assert proc.stderr == f"nerbench: error: db: several runs matching {shared!r}: see 'nerbench runs'\n"
    assert not (runs.work / "ambiguous").exists()


def test_a_run_id_finds_its_directory_from_any_working_directory(runs: Runs) -> None:
    elsewhere = runs.work / "another-working-directory"
    elsewhere.mkdir(exist_ok=True)
    proc = nerbench("report", runs.ids["a"], "--store", runs.work / "db", cwd=elsewhere)
    assert proc.stdout.splitlines()[0] == f"wrote {runs.dir('a').resolve() / 'report.html'}"
    assert not any(elsewhere.iterdir())


def test_latest_is_the_newest_run_and_its_report_goes_into_its_run_directory(runs: Runs) -> None:
    (runs.dir("c") / "report.md").unlink()
    run_c = runs.dir("c").resolve()  # the store keeps the run directory's absolute path
    assert report(runs, "latest") == [str(run_c / "report.html"), str(run_c / "report.md")]
    assert md_run_id(runs.dir("c") / "report.md") == runs.ids["c"]


# ---------------------------------------------------------------- --compare


@dataclass(frozen=True)
class Compared:
    model: str
    dataset: str
    f1: str
    before: str
    delta: str
    p: str
    verdict: str


def compare_table(html: str) -> list[Compared]:
    """The rows of the report's comparison table (the first seven columns)."""
    table = re.search(r'<table class="sortable" id="compare">(.*?)</table>', html, re.S)
    assert table, "no comparison table"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1).split("<tbody>")[1], re.S)
    return [Compared(*re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[:7]) for row in rows]


def markdown_table(markdown: str) -> list[Compared]:
    section = markdown.split("### Compared with run ")[1].split("\n\n")[1]
    return [Compared(*(c.strip() for c in line.strip("|").split("|"))) for line in section.splitlines()[2:]]


def f1(runs: Runs, run: str, model: str) -> float:
    value = cell(results(runs.dir(run)), model, "general")["metrics"]["micro"]["f1"]
    assert isinstance(value, float)
    return value


def test_compare_lists_the_shared_cells_with_their_deltas_and_significance(runs: Runs, tmp_path: Path) -> None:
    report(runs, "run-b", "--compare", "run-a", "--out", "b-vs-a/report.html")
    html = (runs.work / "b-vs-a" / "report.html").read_text(encoding="utf-8")
    assert f"Compared with run {runs.ids['a']}</h2>" in html
    rows = {r.model: r for r in compare_table(html)}
    assert set(rows) == {"rules-general", "crf"}  # rules-dates is only in run b: nothing to compare it with
    assert 'data-model="rules-dates"' in html  # ... but it is on b's own leaderboard
    for model, row in rows.items():
        new, old = f1(runs, "b", model), f1(runs, "a", model)
        assert (row.dataset, row.f1, row.before) == ("general", f"{new:.3f}", f"{old:.3f}")
        assert row.delta == f"{new - old:+.3f}"
        assert row.verdict == ("significant" if float(row.p) < 0.05 else "not significant")
    # The same rules on the same documents: no change at all, so certainly not significant.
    assert f1(runs, "b", "rules-general") == f1(runs, "a", "rules-general")
    assert (rows["rules-general"].delta, rows["rules-general"].p) == ("+0.000", "1.000")
    assert rows["rules-general"].verdict == "not significant"
    # The under-trained CRF loses so much that the two runs' 95% intervals do not even overlap.
    ci_a = cell(results(runs.dir("a")), "crf", "general")["metrics"]["micro"]["f1_ci"]
    ci_b = cell(results(runs.dir("b")), "crf", "general")["metrics"]["micro"]["f1_ci"]
    assert ci_b[1] < ci_a[0]
    assert rows["crf"].verdict == "significant" and rows["crf"].delta.startswith("-")
    markdown = (runs.work / "b-vs-a" / "report.md").read_text(encoding="utf-8")
    assert f"### Compared with run {runs.ids['a']}" in markdown
    assert {r.model: r for r in markdown_table(markdown)} == rows
    dom, console = open_in_chromium(runs.work / "b-vs-a" / "report.html", tmp_path / "profile")
    assert console == []
    assert {r.model for r in compare_table(dom)} == {"rules-general", "crf"}


def test_compare_by_ids_reads_the_store_and_agrees_with_the_directories(runs: Runs) -> None:
    report(runs, "run-b", "--compare", "run-a", "--out", "dirs/report.html")
    report(runs, runs.ids["b"], "--compare", runs.ids["a"], "--out", "ids/report.html")
    dirs = compare_table((runs.work / "dirs" / "report.html").read_text(encoding="utf-8"))
    assert compare_table((runs.work / "ids" / "report.html").read_text(encoding="utf-8")) == dirs
    assert len(dirs) == 2


def test_runs_on_different_documents_are_not_comparable(runs: Runs) -> None:
    report(runs, "latest", "--compare", "run-a", "--out", "c-vs-a/report.html")
    html = (runs.work / "c-vs-a" / "report.html").read_text(encoding="utf-8")
    rows = compare_table(html)
    assert {r.model for r in rows} == {"rules-general", "crf"}
    for row in rows:
        assert row.delta == f"{f1(runs, 'c', row.model) - f1(runs, 'a', row.model):+.3f}"
        assert (row.p, row.verdict) == ("—", "not comparable (different documents)")


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no-such-run",), "db: no run matching 'no-such-run': see 'nerbench runs'"),
        (("run-a", "--compare", "nope"), "db: no run matching 'nope': see 'nerbench runs'"),
        (("empty",), "empty/results.json: cannot read run results: "),
    ],
)
def test_a_bad_run_exits_2_with_one_line_and_writes_nothing(runs: Runs, args: tuple[str, ...], message: str) -> None:
    (runs.work / "empty").mkdir(exist_ok=True)
    proc = nerbench("report", *args, "--store", "db", "--out", "bad/report.html", cwd=runs.work, check=False)
    assert proc.returncode == 2
    assert proc.stdout == "" and proc.stderr.startswith(f"nerbench: error: {message}")
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (runs.work / "bad").exists()


def test_a_run_reference_without_a_store_names_both_problems(tmp_path: Path) -> None:
    proc = nerbench("report", "runs/nothing-here", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        "nerbench: error: .nerbench/results.db: 'runs/nothing-here' is not a run directory "
        "and there is no results store here\n"
    )
