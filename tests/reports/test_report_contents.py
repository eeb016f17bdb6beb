"""What the report says, checked against ``results.json`` and the run's files, on one small run of real models.

The run: the quickstart's two shipped gold sets with its rules models, its CRF and a CRF stopped after 8
iterations (three rows per leaderboard). Expectations are recomputed from the run directory (results,
details, gold and prediction files), never read back from the report model. Sorting and the example filter
run the page's own script in headless Chromium: a copy of the page gets a probe script that clicks and
selects after the page's script ran and writes what it saw into the DOM, which Chromium then dumps.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import nerbench
from nerbench.reports.charts import NONE_LABEL, confusion_counts, pareto_front
from nerbench.reports.html import num, sort_value
from nerbench.reports.model import Details
from nerbench.scoring import paired_bootstrap_counts
from tests.harness.conftest import REPO, results
from tests.harness.conftest import nerbench as run_cli
from tests.quickstart_suite import quickstart_suite
from tests.reports.dom import Node, parse
from tests.reports.test_browser import open_in_chromium

HEADERS = ["model", "F1", "95% CI", "Precision", "Recall", "Schema errors", "Boundary errors", "Invalid spans",
           "Failed docs", "p50 (ms)", "p95 (ms)", "Docs/s", "Words/s", "Load (s)", "Peak memory (MB)",
           "Cost per 1k docs (USD)", "label map"]  # fmt: skip
KINDS = {"crf": "trained on your data", "crf-8": "trained on your data", "rules-general": "rules",
         "rules-finance": "rules"}  # fmt: skip
# --- the run and what its files say ------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    dir: Path
    doc: dict[str, Any]
    dom: Node = field(repr=False)

    def cells(self, dataset: str) -> list[dict[str, Any]]:
        """The dataset's cells, most accurate first (the leaderboard's order)."""
        cells = [c for c in self.doc["cells"] if c["dataset"] == dataset]
        return sorted(cells, key=lambda c: -c["metrics"]["micro"]["f1"])

    def details(self, model: str, dataset: str) -> dict[str, Any]:
        return json.loads((self.dir / "details" / f"{model}__{dataset}.json").read_text(encoding="utf-8"))

    def jsonl(self, path: str) -> dict[str, dict[str, Any]]:
        lines = (self.dir / path).read_text(encoding="utf-8").splitlines()
        return {d["id"]: d for d in map(json.loads, filter(None, lines))}

    def section(self, dataset: str) -> Node:
        return next(s for s in self.dom.all("section", "dataset") if s.attrs["data-dataset"] == dataset)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("contents")
    suite, models = quickstart_suite()
    crf8 = {**models["crf"], "name": "crf-8", "max_iterations": 8}
    suite["models"] = [models["rules-general"], models["rules-finance"], models["crf"], crf8]
    suite["settings"] = {"latency_samples": 5, "warmup": 1, "bootstrap": 200, "seed": 0}
    (work / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    run_cli("run", work / "suite.yaml", "--out", work / "run", "--store", work / "db", cwd=work)
    page = (work / "run" / "report.html").read_text(encoding="utf-8")
    return Run(work / "run", results(work / "run"), parse(page))


# --- 1. the header ----------------------------------------------------------------------------------------


def test_the_header_names_the_suite_date_machine_versions_and_datasets(run: Run) -> None:
    meta = {dt.text(): dd.text() for dt, dd in zip(run.dom.all("dt"), run.dom.all("dd"), strict=True)}
    info = run.doc["run"]
    assert run.dom.all("h1")[0].text() == "nerbench: quickstart"
    assert run.dom.all("title")[0].text() == f"nerbench — quickstart — {info['id']}"
    assert meta["Date"].startswith(info["created_at"]) and info["finished_at"] in meta["Date"]
    assert meta["Machine"].startswith(f"{info['machine']['cpu']} ({info['machine']['cores']} cores")
    assert "GPU: none" in meta["Machine"]  # the CPU-only test machine
    assert info["versions"]["nerbench"] == nerbench.__version__
    assert f"nerbench {nerbench.__version__}" in meta["Versions"]
    for library in ("numpy", "spacy", "sklearn-crfsuite"):
        assert f"{library} {info['versions'][library]}" in meta["Versions"]
    for name in ("general", "finance"):
        gold = (REPO / f"datasets/{name}/test.jsonl").read_text(encoding="utf-8").splitlines()
        documents = sum(1 for line in gold if line.strip())
        assert f"{name}: {documents} documents" in meta["Datasets"]
        assert documents == next(d["documents"] for d in run.doc["datasets"] if d["name"] == name)
    assert meta["Datasets"].startswith("general: 35 documents") and "; finance: 28 documents" in meta["Datasets"]


# --- 2. leaderboard rows and sorting -------------------------------------------------------------------------


def test_num_and_sort_value_format_the_cells() -> None:
    assert (num(None), num(0.5), num(0.0), num(7)) == ("—", "0.500", "0.000", "7")
    assert (num(2.046, 2), num(282.4, 0)) == ("2.05", "282")
    assert (num(1.61e-5, 4), num(0.04, 1), num(0.1, 1)) == ("1.6e-05", "4.0e-02", "0.1")  # below the last digit
    assert (sort_value(None), sort_value(0.25), sort_value(3)) == ("", "0.25", "3.0")


def _expected_row(c: dict[str, Any], tie: bool) -> list[str]:
    m, lat, f1 = c["metrics"], c["latency"], c["metrics"]["micro"]["f1"]
    lo, hi = m["micro"]["f1_ci"]
    return [
        f"{c['model']} {KINDS[c['model']]}", num(f1) + (" ≈" if tie else ""), f"{num(lo)}–{num(hi)}",
        num(m["micro"]["precision"]), num(m["micro"]["recall"]), num(m["schema_error_rate"]),
        num(m["boundary_error_rate"]), num(m["invalid_rate"]), str(c["failures"]["failed_docs"]),
        num(lat["p50_ms"], 1), num(lat["p95_ms"], 1), num(lat["docs_per_s"], 1), num(lat["words_per_s"], 0),
        num(lat["load_s"], 2),
        num(c["memory"]["peak_rss_mb"], 0), num(c["cost"]["usd_per_1k_docs"], 4), "none",
    ]  # fmt: skip


def _ties(run: Run, dataset: str) -> dict[str, float]:
    """Paired bootstrap p of each non-best model against the best, straight from the details files."""
    best, *rest = run.cells(dataset)
    a = run.details(best["model"], dataset)
    out = {}
    for c in rest:
        b = run.details(c["model"], dataset)
        assert a["doc_ids"] == b["doc_ids"]
        resamples = run.doc["run"]["settings"]["bootstrap"]  # the report tests with the run's own setting
        out[c["model"]] = paired_bootstrap_counts(a["per_doc"], b["per_doc"], resamples=resamples).p_value
    return out


@pytest.mark.parametrize("dataset", ["general", "finance"])
def test_every_leaderboard_cell_matches_results_json(run: Run, dataset: str) -> None:
    table = run.section(dataset).all("table", "leaderboard")[0]
    assert [th.text() for th in table.all("th")] == HEADERS
    rows = table.all("tbody")[0].all("tr")
    cells = run.cells(dataset)
    assert [r.attrs["data-model"] for r in rows] == [c["model"] for c in cells]
    ties = _ties(run, dataset)
    for row, c in zip(rows, cells, strict=True):
        tds = row.all("td")
        assert [td.text() for td in tds] == _expected_row(c, ties.get(c["model"], 0.0) >= 0.05), c["model"]
        assert float(tds[1].attrs["data-sort"]) == c["metrics"]["micro"]["f1"]
        assert float(tds[10].attrs["data-sort"]) == c["latency"]["p95_ms"]


@pytest.mark.parametrize("dataset", ["general", "finance"])
def test_each_models_per_label_table_matches_results_json(run: Run, dataset: str) -> None:
    """Support, P/R/F1, the CI and the four SemEval views per label; labels under 10 gold spans marked thin."""
    tables = {d.attrs["data-model"]: d for d in run.section(dataset).all("details", "per-label")}
    assert set(tables) == {c["model"] for c in run.cells(dataset)}
    for c in run.cells(dataset):
        table = tables[c["model"]].all("table")[0]
        assert [th.text() for th in table.all("th")] == [
            "label", "support", "precision", "recall", "F1", "95% CI", "SemEval strict F1", "exact F1",
            "partial F1", "type F1",
        ]  # fmt: skip
        rows = table.all("tbody")[0].all("tr")
        labels = c["metrics"]["per_label"]
        assert [r.all("td")[0].text() for r in rows] == list(labels)
        for row, (label, s) in zip(rows, labels.items(), strict=True):
            lo, hi = s["f1_ci"]
            views = [num(s["semeval"][v]["f1"]) for v in ("strict", "exact", "partial", "type")]
            expected = [label, str(s["support"]), num(s["precision"]), num(s["recall"]), num(s["f1"]),
                        f"{num(lo)}–{num(hi)}", *views]  # fmt: skip
            assert [td.text() for td in row.all("td")] == expected, (c["model"], label)
            assert ("thin" in row.attrs.get("class", "")) == (s["support"] < 10)


_PROBE = """<script>
(function () {
  "use strict";
  var out = {sorts: [], filters: []};
  function all(root, selector, f) { return Array.prototype.map.call(root.querySelectorAll(selector), f); }
  function orders() {
    var o = {};
    document.querySelectorAll("section.dataset").forEach(function (s) {
      o[s.dataset.dataset] = all(s, "table.leaderboard tbody tr", function (r) { return r.dataset.model; });
    });
    return o;
  }
  CLICKS.forEach(function (col) {
    var heads = all(document, "table.leaderboard", function (t) { return t.querySelectorAll("th")[col]; });
    heads.forEach(function (th) { th.click(); });
    var aria = heads.map(function (th) { return th.getAttribute("aria-sort"); });
    out.sorts.push({col: col, aria: aria, orders: orders()});
  });
  FILTERS.forEach(function (f) {
    var s = document.querySelector('section.dataset[data-dataset="' + f[0] + '"]');
    [[".f-class", f[1]], [".f-label", f[2]]].forEach(function (p) {
      var select = s.querySelector(p[0]);
      select.value = p[1];
      select.dispatchEvent(new Event("change"));
    });
    out.filters.push(all(s, ".example", function (ex) {
      var h = ex.previousElementSibling;
      while (h.tagName !== "H4") { h = h.previousElementSibling; }
      return [h.textContent, ex.querySelector(".doc").textContent.split(" — ")[0], !ex.classList.contains("hidden")];
    }));
  });
  var pre = document.body.appendChild(document.createElement("pre"));
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
}());
</script>
"""
CLICKS = [1, 1, 10, 10, 0, 0, 15, 15]  # F1, p95 ms, model, $ / 1k docs: each ascending, then descending


def _sort_key(c: dict[str, Any], col: int) -> Any:
    if col == 0:
        return f"{c['model']} {KINDS[c['model']]}".lower()  # the cell's text: name and kind
    return {1: c["metrics"]["micro"]["f1"], 10: c["latency"]["p95_ms"], 15: c["cost"]["usd_per_1k_docs"]}[col]


@dataclass(frozen=True)
class Example:
    model: str
    doc_id: str
    errors: int
    classes: tuple[str, ...]
    labels: tuple[str, ...]
    gold: list[tuple[str, str, str]]  # (text, label, class) of each span, in text order
    predicted: list[tuple[str, str, str]]


def expected_examples(run: Run, model: str, dataset: str) -> list[Example]:
    """The 6 documents with most errors (ties: document order) and their spans' classes, from the files."""
    details = run.details(model, dataset)
    gold, preds = run.jsonl(f"gold/{dataset}.jsonl"), run.jsonl(f"predictions/{model}__{dataset}.jsonl")
    by_doc: dict[str, list[list[Any]]] = {d: [] for d in details["doc_ids"]}
    for inst in details["instances"]:
        by_doc[inst[0]].append(inst)
        assert inst[3] not in ("INVALID", "IGNORED")  # so a prediction's index is its place in the file
    errors = {d: sum(i[3] != "COR" for i in insts) for d, insts in by_doc.items()}
    worst = sorted(details["doc_ids"], key=lambda d: (-errors[d], details["doc_ids"].index(d)))[:6]
    out = []
    for d in worst:
        text, insts = gold[d]["text"], by_doc[d]
        g_cls = {i[1]: i[3] for i in insts if i[1] is not None}
        p_cls = {i[2]: i[3] for i in insts if i[2] is not None}
        g = [(text[s["start"] : s["end"]], s["label"], g_cls[k], s["start"]) for k, s in enumerate(gold[d]["spans"])]
        p = [(text[s["start"] : s["end"]], s["label"], p_cls[k], s["start"]) for k, s in enumerate(preds[d]["spans"])]
        labels = tuple(sorted({s[1] for s in g + p}))
        spans = [[s[:3] for s in sorted(side, key=lambda s: s[3])] for side in (g, p)]
        out.append(Example(model, d, errors[d], tuple(sorted({i[3] for i in insts})), labels, *spans))
    return out


def _filters(run: Run) -> list[tuple[str, str, str]]:
    """For each dataset: a class and a label that some but not all shown examples have, then both, then neither."""
    steps = []
    for dataset in ("general", "finance"):
        shown = [e for c in run.cells(dataset) for e in expected_examples(run, c["model"], dataset)]
        classes = Counter(k for e in shown for k in e.classes)
        labels = Counter(x for e in shown for x in e.labels)
        klass = next(k for k in ("TYPE", "BND_TYPE", "SPU", "BND") if 0 < classes[k] < len(shown))
        label = next(x for x in sorted(labels) if labels[x] < len(shown))
        steps += [(dataset, klass, ""), (dataset, klass, label), (dataset, "", label), (dataset, "", "")]
    return steps


@pytest.fixture(scope="module")
def probed(run: Run, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The page's own script driven in Chromium: the row orders after each click and the examples after each filter."""
    work = tmp_path_factory.mktemp("probe")
    page = (run.dir / "report.html").read_text(encoding="utf-8")
    probe = _PROBE.replace("CLICKS", json.dumps(CLICKS)).replace("FILTERS", json.dumps(_filters(run)))
    assert page.count("</body>") == 1
    (work / "probe.html").write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom, console = open_in_chromium(work / "probe.html", work / "profile")
    assert console == []
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe script did not run"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def test_clicking_a_column_sorts_the_leaderboard_both_ways(run: Run, probed: dict[str, Any]) -> None:
    assert [s["col"] for s in probed["sorts"]] == CLICKS
    for n, step in enumerate(probed["sorts"]):
        ascending = n % 2 == 0  # a first click sorts ascending, a second one on the same column descending
        assert step["aria"] == ["ascending" if ascending else "descending"] * 2
        for dataset in ("general", "finance"):
            cells = {c["model"]: c for c in run.cells(dataset)}
            keys = [_sort_key(cells[m], step["col"]) for m in step["orders"][dataset]]
            assert sorted(step["orders"][dataset]) == sorted(cells)
            assert keys == sorted(keys, reverse=not ascending), (step, keys)
    f1_up = probed["sorts"][0]["orders"]["general"]
    assert f1_up == [c["model"] for c in run.cells("general")][::-1]  # distinct F1s: exactly the reverse


# --- 3. the "not significantly different" mark --------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["general", "finance"])
def test_the_tie_mark_is_on_exactly_the_rows_not_significantly_worse_than_the_best(run: Run, dataset: str) -> None:
    ties = _ties(run, dataset)
    rows = run.section(dataset).all("table", "leaderboard")[0].all("tbody")[0].all("tr")
    titles = {r.attrs["data-model"]: [s.attrs["title"] for s in r.all("span", "tie")] for r in rows}
    marked = {m: re.findall(r"p=([0-9.]+)\)", t[0])[0] for m, t in titles.items() if t}
    assert marked == {m: f"{p:.2f}" for m, p in ties.items() if p >= 0.05}
    assert run.cells(dataset)[0]["model"] not in marked
    # the rows' per-document counts are the cells' counts: the bootstrap ran on the numbers the table shows
    for c in run.cells(dataset):
        correct, predicted, gold = map(sum, zip(*run.details(c["model"], dataset)["per_doc"], strict=True))
        assert (correct, gold) == (c["metrics"]["counts"]["correct"], c["metrics"]["counts"]["gold"])
        assert 2 * correct / (predicted + gold) == pytest.approx(c["metrics"]["micro"]["f1"])


# --- 4. the charts' pure helpers ------------------------------------------------------------------------------


def test_the_pareto_front_keeps_the_points_nothing_dominates() -> None:
    # (3, 0.6) is beaten by (2, 0.7): cheaper and more accurate; the rest trade cost for F1
    assert pareto_front([(4, 0.9), (3, 0.6), (1, 0.5), (2, 0.7)]) == [(1, 0.5), (2, 0.7), (4, 0.9)]
    assert pareto_front([(1, 0.5), (1, 0.8)]) == [(1, 0.8)]  # same cost: only the more accurate
    assert pareto_front([(2, 0.5), (1, 0.5)]) == [(1, 0.5)]  # same F1: only the cheaper
    assert pareto_front([(1, 0.5), (1, 0.5), (3, 0.2)]) == [(1, 0.5)]  # a duplicate once; worse and dearer out
    assert pareto_front([(5, 0.3)]) == [(5, 0.3)]
    assert pareto_front([]) == []
    assert pareto_front([(0.1, 0.2), (10, 0.9), (1, 0.8), (0.5, 0.1)]) == [(0.1, 0.2), (1, 0.8), (10, 0.9)]


def test_the_confusion_counts_pair_gold_and_predicted_labels() -> None:
    instances = (
        ("d1", 0, 0, "COR", "PER", "PER"),
        ("d1", 1, 1, "TYPE", "ORG", "LOC"),
        ("d1", 2, 2, "BND", "LOC", "LOC"),
        ("d2", 0, 0, "BND_TYPE", "PER", "ORG"),
        ("d2", 1, None, "MIS", "ORG", None),
        ("d2", None, 1, "SPU", None, "LOC"),
        ("d2", None, 2, "OUT_OF_SCHEMA", None, "PRODUCT"),  # not a gold label's confusion: left out
        ("d2", None, 3, "INVALID", None, "PER"),
        ("d3", 0, 0, "COR", "PER", "PER"),
        ("d3", 1, None, "MIS", "ORG", None),
    )
    details = Details(("d1", "d2", "d3"), ((1, 3, 3), (0, 2, 2), (1, 1, 2)), instances)
    assert confusion_counts(details) == Counter(
        {("PER", "PER"): 2, ("ORG", "LOC"): 1, ("LOC", "LOC"): 1, ("PER", "ORG"): 1, ("ORG", NONE_LABEL): 2,
         (NONE_LABEL, "LOC"): 1}
    )  # fmt: skip
    assert confusion_counts(Details((), (), ())) == Counter()


@pytest.mark.parametrize("dataset", ["general", "finance"])
def test_every_models_confusion_chart_shows_the_counts_of_its_instances(run: Run, dataset: str) -> None:
    figures = run.section(dataset).all("figure", "confusions")
    assert len(figures) == 1 and figures[0].all("h4")[0].text() == "Label confusion"
    models = [c["model"] for c in run.cells(dataset)]  # every ranked model, most accurate first
    options = figures[0].all("option")
    assert [o.attrs["value"] for o in options] == models
    assert [o.text() for o in options] == [f"{models[0]} (most accurate)", *models[1:]]
    assert ["selected" in o.attrs for o in options] == [True] + [False] * (len(models) - 1)
    charts = figures[0].all("div", "confusion")
    assert [d.attrs["data-model"] for d in charts] == models
    assert ["hidden" in d.attrs["class"].split() for d in charts] == [False] + [True] * (len(models) - 1)
    for model, chart in zip(models, charts, strict=True):
        instances = run.details(model, dataset)["instances"]
        pairs = confusion_counts(Details((), (), tuple(map(tuple, instances))))
        overlapping = [i for i in instances if i[3] in ("COR", "TYPE", "BND", "BND_TYPE")]
        assert sum(pairs.values()) == len(overlapping) + sum(i[3] in ("MIS", "SPU") for i in instances)
        for label in {i[4] for i in overlapping if i[4] == i[5]}:  # the diagonal: matched with the gold label
            assert pairs[(label, label)] == sum(i[4] == i[5] == label for i in overlapping) > 0
        texts = [t.text() for t in chart.all("text")]
        assert f"predicted by {model}" in texts
        numbers = [t for t in texts if t.isdigit()]  # the cells' counts, nothing else
        assert sorted(map(int, numbers)) == sorted(pairs.values()), model


# --- 5. error examples ---------------------------------------------------------------------------------------


def plain(node: Node) -> str:
    """The text a reader sees as the document: no whitespace collapsed, the row name and span labels left out."""
    skip = node.tag == "sub" or "who" in node.attrs.get("class", "").split()
    return "" if skip else "".join(c if isinstance(c, str) else plain(c) for c in node.children)


def _spans(row: Node) -> list[tuple[str, str, str]]:
    """(text, label, class) of each highlighted span of an example row."""
    out = []
    for s in row.all("span", "s"):
        klass = next(c[2:] for c in s.attrs["class"].split() if c.startswith("c-"))
        out.append((plain(s), s.all("sub")[0].text(), klass))
    return out


@pytest.mark.parametrize("dataset", ["general", "finance"])
def test_each_models_examples_show_its_worst_documents_with_classed_spans(run: Run, dataset: str) -> None:
    section = run.section(dataset)
    shown: list[tuple[str, Node]] = []
    model = ""
    for el in section.elements():
        if el.tag == "h4":
            model = el.text()
        elif "example" in el.attrs.get("class", "").split():
            shown.append((model, el))
    expected = [e for c in run.cells(dataset) for e in expected_examples(run, c["model"], dataset)]
    ids = [(m, el.all("div", "doc")[0].text().split(" — ")[0]) for m, el in shown]
    assert ids == [(e.model, e.doc_id) for e in expected]
    gold = run.jsonl(f"gold/{dataset}.jsonl")
    for (_, el), e in zip(shown, expected, strict=True):
        assert el.all("div", "doc")[0].text() == f"{e.doc_id} — {e.errors} errors"
        assert json.loads(el.attrs["data-classes"]) == list(e.classes)
        assert json.loads(el.attrs["data-labels"]) == list(e.labels)
        gold_row, pred_row = el.all("div", "row")
        assert _spans(gold_row) == e.gold and _spans(pred_row) == e.predicted
        assert plain(gold_row) == plain(pred_row) == gold[e.doc_id]["text"]  # the whole text, spans in place
        assert [w.text() for w in el.all("span", "who")] == ["gold", "predicted"]
        assert e.errors > 0 and any(k != "COR" for _, _, k in e.gold + e.predicted)


def test_the_example_filter_shows_only_documents_with_the_class_and_label(run: Run, probed: dict[str, Any]) -> None:
    steps = _filters(run)
    assert len(probed["filters"]) == len(steps)
    for (dataset, klass, label), seen in zip(steps, probed["filters"], strict=True):
        expected = [e for c in run.cells(dataset) for e in expected_examples(run, c["model"], dataset)]
        assert [(m, d) for m, d, _ in seen] == [(e.model, e.doc_id) for e in expected]
        want = [(not klass or klass in e.classes) and (not label or label in e.labels) for e in expected]
        assert [v for _, _, v in seen] == want, (dataset, klass, label)
        if bool(klass) != bool(label):
            assert 0 < sum(want) < len(want)  # one filter alone hides some examples and shows others
        if not klass and not label:
            assert all(want)


# --- 6. report.md agrees with the page -----------------------------------------------------------------------


def _md_text(markdown: str) -> str:
    """What Markdown shows for text ``cell()`` escaped: backslash escapes and entities undone."""
    return html.unescape(re.sub(r"\\(.)", r"\1", markdown))


def _md_boards(md: str) -> dict[str, tuple[list[list[str]], list[str]]]:
    """Per dataset: the table's rows (cells) and the bullet lines, markup stripped."""
    boards: dict[str, tuple[list[list[str]], list[str]]] = {}
    for block in md.split("\n### ")[1:]:
        name, *lines = block.splitlines()
        rows = [[_md_text(c.strip()) for c in re.split(r"(?<!\\) \| ", line.strip("|"))]
                for line in lines if line.startswith("| ")][1:]  # fmt: skip
        bullets = [_md_text(line[2:].replace("**", "").replace("`", "")) for line in lines if line.startswith("- ")]
        boards[_md_text(name)] = (rows, bullets)
    return boards


def test_report_md_has_the_same_leaderboards_and_picks_as_the_page(run: Run) -> None:
    boards = _md_boards((run.dir / "report.md").read_text(encoding="utf-8"))
    assert list(boards) == ["general", "finance"]
    for dataset, (rows, bullets) in boards.items():
        section = run.section(dataset)
        page_rows = section.all("table", "leaderboard")[0].all("tbody")[0].all("tr")
        assert [r[0] for r in rows] == [r.attrs["data-model"] for r in page_rows]
        for md_row, tr, c in zip(rows, page_rows, run.cells(dataset), strict=True):
            tds = [td.text() for td in tr.all("td")]
            assert md_row[1] == tr.all("span", "kind")[0].text()
            assert md_row[2:] == tds[1:]  # every metric column (F1 with ≈), then the label map
            assert float(md_row[11]) == pytest.approx(c["latency"]["p95_ms"], abs=0.05)
        picks = [li.text() for li in section.all("ul", "picks")[0].all("li")]
        notes = [li.text() for li in section.all("ul", "notes")[0].all("li")] if section.all("ul", "notes") else []
        assert [b for b in bullets if not b.startswith("_Note:_")] == picks
        assert [b.removeprefix("_Note:_ ") for b in bullets if b.startswith("_Note:_")] == notes
        assert picks[0].startswith(f"Most accurate: {run.cells(dataset)[0]['model']} — F1 ")
