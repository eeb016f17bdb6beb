"""The quickstart report opened in headless Chromium: loads cleanly, shows every model and chart, escapes text."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.harness.conftest import REPO, nerbench

# The quickstart models that need no download or fine-tuning (the suite also lists spaCy and a fine-tuned model).
FAST = ("--models", "rules-general,rules-finance,crf")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--enable-logging=stderr", "--v=0",
         "--window-size=1400,2400"]  # fmt: skip
XSS = ['<script>document.title="pwned"</script>', '"><img src=x onerror="document.title=\'pwned\'">']
EVIL_LABEL = "ORG<svg onload=document.title='pwned'>"  # a gold label: table cells, attributes and SVG charts
EVIL_MODEL = 'crf"><script>document.title="pwned"</script>'  # a model name: leaderboard, charts, examples


def open_in_chromium(page: Path, profile: Path, *, screenshot: Path | None = None) -> tuple[str, list[str]]:
    """The DOM after scripts ran, and the page's console messages (Chromium logs them as CONSOLE lines)."""
    args = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}"]
    what = [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    proc = subprocess.run([*args, *what, page.as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("quickstart")
    nerbench("run", REPO / "suites/quickstart.yaml", *FAST, "--out", work / "run", "--store", work / "db", cwd=work)
    return work / "run"


def test_the_quickstart_report_loads_cleanly_with_every_model_and_chart(quickstart: Path, tmp_path: Path) -> None:
    page = quickstart / "report.html"
    assert (quickstart / "report.md").exists()
    dom, console = open_in_chromium(page, tmp_path / "profile")
    assert console == []
    document = json.loads((quickstart / "results.json").read_text(encoding="utf-8"))
    leaderboard_models = set(re.findall(r'<tr class="model-row[^"]*" data-model="([^"]+)"', dom))
    assert leaderboard_models == {c["model"] for c in document["cells"]}
    for title in ("F1 vs p95 latency", "F1 vs cost per 1k documents", "Error breakdown", "Per-label F1",
                  "F1 with 95% confidence intervals", "F1 by bucket", "Where models fail"):  # fmt: skip
        assert dom.count(f">{title}<") == 2, title  # one per dataset
    assert dom.count('class="chart buckets"') == 2 and "seen in training" in dom  # the quickstart has train splits
    assert dom.count("<svg") >= 12
    assert "Most accurate" in dom and "Build or buy" in dom
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "quickstart-report.png"
    shot.unlink(missing_ok=True)
    open_in_chromium(page, tmp_path / "profile2", screenshot=shot)
    assert shot.stat().st_size > 10_000


def _xss_run(work: Path) -> Path:
    docs = []
    for i in range(8):
        name = ["Ada Lovelace", "Alan Turing"][i % 2]
        text = f"{name} wrote {XSS[i % 2]} on day {i} for Acme."
        spans = [{"start": 0, "end": len(name), "label": "PER"},
                 {"start": len(text) - 5, "end": len(text) - 1, "label": EVIL_LABEL}]  # fmt: skip
        docs.append({"id": f"x{i}", "text": text, "spans": spans})
    gold = work / "xss.jsonl"
    gold.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    suite = {"name": "xss", "datasets": [{"name": "xss", "path": str(gold), "train": str(gold)}],
             "models": [{"name": EVIL_MODEL, "adapter": "crf", "max_iterations": 20}],
             "settings": {"latency_samples": 3, "warmup": 1, "bootstrap": 100}}  # fmt: skip
    (work / "suite.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    nerbench("run", work / "suite.yaml", "--out", work / "run", "--store", work / "db", cwd=work)
    return work / "run"


def test_document_text_with_html_is_shown_as_text_and_never_run(tmp_path: Path) -> None:
    run = _xss_run(tmp_path)
    html = (run / "report.html").read_text(encoding="utf-8")
    assert XSS[0] not in html and XSS[1] not in html
    dom, console = open_in_chromium(run / "report.html", tmp_path / "profile")
    assert console == []
    assert "<title>nerbench — xss" in dom and "pwned" not in dom.split("</title>")[0]
    assert '<img src="x"' not in dom and "<img src=x" not in dom
    assert '&lt;script&gt;document.title="pwned"&lt;/script&gt;' in dom
    assert '"&gt;&lt;img src=x onerror="document.title=\'pwned\'"&gt;' in dom
    assert "<svg onload" not in dom and '"><script>' not in dom  # the label and the model name stay text
    assert "ORG&lt;svg onload=document.title='pwned'&gt;" in dom
    assert 'crf"&gt;&lt;script&gt;document.title="pwned"&lt;/script&gt;' in dom


SPACED = "WORK OF ART"  # a label with spaces (OntoNotes has several)
_FILTER_PROBE = """<script>
(function () {
  var select = document.querySelector(".f-label");
  select.value = LABEL;
  select.dispatchEvent(new Event("change"));
  var shown = Array.prototype.filter.call(document.querySelectorAll(".example"), function (ex) {
    return !ex.classList.contains("hidden");
  }).map(function (ex) { return ex.querySelector(".doc").textContent.split(" — ")[0]; });
  var pre = document.body.appendChild(document.createElement("pre"));
  pre.id = "probe";
  pre.textContent = JSON.stringify(shown);
}());
</script>
"""


def test_the_example_filter_finds_a_label_with_spaces(tmp_path: Path) -> None:
    docs = []
    for i in range(6):
        text = f"Ada read Hamlet on day {i}." if i % 2 else f"Ada met Bob on day {i}."
        spans = [{"start": 0, "end": 3, "label": "PER"}]
        word = "Hamlet" if i % 2 else "Bob"
        spans.append({"start": text.index(word), "end": text.index(word) + len(word),
                      "label": SPACED if i % 2 else "PER"})  # fmt: skip
        docs.append({"id": f"x{i}", "text": text, "spans": spans})
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    suite = {"name": "spaced", "datasets": [{"name": "spaced", "path": str(gold)}],
             "models": [{"name": "ada-only", "adapter": "rules", "regex": [{"label": "PER", "pattern": "Ada"}]}],
             "settings": {"latency_samples": 1, "warmup": 0, "bootstrap": 0}}  # fmt: skip
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    nerbench("run", tmp_path / "suite.yaml", "--out", tmp_path / "run", "--store", tmp_path / "db", cwd=tmp_path)
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert f'<option value="{SPACED}">' in page
    probe = _FILTER_PROBE.replace("LABEL", json.dumps(SPACED))
    (tmp_path / "probe.html").write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom, console = open_in_chromium(tmp_path / "probe.html", tmp_path / "profile")
    assert console == []
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run"
    assert sorted(json.loads(found.group(1))) == ["x1", "x3", "x5"]  # the documents whose missed span is a WORK OF ART
