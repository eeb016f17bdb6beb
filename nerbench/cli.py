"""The ``nerbench`` command: a thin layer that parses, calls the library and prints.

Errors nerbench means users to read become one line on stderr and exit status 2
(``--debug`` shows the traceback); everything else is the library's business.
SIGINT and SIGTERM stop any command promptly (a run marks itself interrupted and
kills its workers) with one line and exit status 130 or 143. Everything printed,
tracebacks included, passes through :mod:`nerbench.redact`: an expanded ``${VAR}``
value of a suite is never shown.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import traceback
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nerbench import __version__, limits, redact
from nerbench.adapters.data import formats, read_corpus, write_documents
from nerbench.cli_signals import Interrupted, resume_command, signals_interrupt
from nerbench.errors import InputError, NerbenchError
from nerbench.evaluation import Views, evaluate_files, label_mismatch
from nerbench.harness.store import DEFAULT_STORE
from nerbench.labels import load_label_map

if TYPE_CHECKING:
    from collections.abc import Sequence

    from nerbench.harness.results import RunInfo

# Commands import the runner, the report and the views they need inside their bodies:
# `nerbench score` stays quick to start.

app = typer.Typer(
    name="nerbench",
    help="Benchmark and compare named entity recognition systems on the same gold data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(width=None if sys.stdout.isatty() else 160)  # logs and pipes get whole tables


class Repair(str, Enum):
    conlleval = "conlleval"
    discard = "discard"
    error = "error"


class Group(str, Enum):
    sentence = "sentence"
    document = "document"


FormatOpt = Annotated[str, typer.Option("--format", "-f", help="Format of both files: auto, conll, jsonl, ...")]
SchemeOpt = Annotated[str, typer.Option(help="Tag scheme of token files: auto, IOB1, IOB2/BIO, IOE, IOBES, BILOU, IO.")]
RepairOpt = Annotated[Repair, typer.Option(help="Invalid tag transitions: conlleval (keep), discard, or error.")]
GroupOpt = Annotated[Group, typer.Option(help="Token files: one document per sentence or per -DOCSTART- document.")]
TagColumnOpt = Annotated[int, typer.Option(help="Token files: the column holding the tag (default: last).")]
MultiLabelOpt = Annotated[str, typer.Option(help="Token files: comma-joined alternative tags: error or first.")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Benchmark and compare NER systems."""


@app.command()
def version() -> None:
    """Print nerbench's version."""
    out.print(__version__)


@app.command()
def score(
    gold: Annotated[Path, typer.Option(help="Gold file (or directory for BRAT / Hugging Face datasets).")],
    pred: Annotated[Path, typer.Option(help="Predictions over the same texts, in any readable format.")],
    format: FormatOpt = "auto",
    gold_format: Annotated[str | None, typer.Option(help="Format of the gold file (overrides --format).")] = None,
    pred_format: Annotated[str | None, typer.Option(help="Format of the prediction file (overrides --format).")] = None,
    scheme: SchemeOpt = "auto",
    repair: RepairOpt = Repair.conlleval,
    group: GroupOpt = Group.sentence,
    tag_column: TagColumnOpt = -1,
    multi_label: MultiLabelOpt = "error",
    label_map: Annotated[
        str | None, typer.Option("--map", help="Label map for predictions: a built-in name or a YAML/JSON file.")
    ] = None,
    schema: Annotated[
        str | None,
        typer.Option(
            help="The labels a prediction may carry, comma-separated (a suite dataset's schema: keys); "
            "default: the gold's labels and the map's targets, as a run without a schema: does."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    buckets: Annotated[
        bool, typer.Option("--buckets", help="Also break F1 down by span and document attributes (where it fails).")
    ] = False,
    train: Annotated[
        Path | None, typer.Option(help="A train split: adds the seen / unseen buckets (with --buckets).")
    ] = None,
    min_overlap: Annotated[
        float, typer.Option(help="Relaxed matching: the overlap a same-label boundary error needs (0 to 1).")
    ] = 0.5,
    overlap: Annotated[
        str, typer.Option(help="What --min-overlap is a share of: gold (the gold span) or iou.")
    ] = "gold",
    min_overlap_label: Annotated[
        list[str] | None, typer.Option(help="LABEL=X: a label's own --min-overlap, repeatable.")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap resamples for the F1 confidence interval (0: none).")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    """Score predictions against gold: strict span F1 with its CI, error breakdown, SemEval views.

    Warns on stderr when most predicted labels fall outside the gold's (a missing --map), naming them
    and the built-in maps that would fit.
    """
    if not 0 <= bootstrap <= limits.MAX_BOOTSTRAP:
        raise InputError(f"--bootstrap must be 0 (no interval) to {limits.MAX_BOOTSTRAP:,} resamples, got {bootstrap}")
    if not 0 <= seed <= limits.MAX_SEED:
        raise InputError(f"--seed must be a whole number from 0 to {limits.MAX_SEED}, got {seed}")
    labels = frozenset(x.strip() for x in schema.split(",") if x.strip()) if schema is not None else None
    if labels is not None and not labels:
        raise InputError("--schema: give the labels, comma-separated, e.g. --schema PER,ORG,LOC")
    views = _views(min_overlap, overlap, min_overlap_label or [], buckets, train)
    evaluation = evaluate_files(
        gold,
        pred,
        gold_format=gold_format or format,
        pred_format=pred_format or format,
        label_map=load_label_map(label_map) if label_map else None,
        schema=labels,
        views=views,
        bootstrap=bootstrap,
        seed=seed,
        scheme=scheme,
        repair=repair.value,
        group=group.value,
        tag_column=tag_column,
        multi_label=multi_label,
    )
    warning = label_mismatch(evaluation, labels=labels)
    if warning:
        print(f"nerbench: warning: {warning}", file=sys.stderr)
    metrics = evaluation.to_json()
    if as_json:
        sys.stdout.write(json.dumps(metrics, ensure_ascii=False) + "\n")
        return
    _print_scores(metrics)
    if buckets:
        from nerbench.cli_views import print_buckets

        print_buckets(out, evaluation.buckets)


def _views(min_overlap: float, measure: str, by_label: list[str], buckets: bool, train: Path | None) -> Views:
    """The score command's extra views, every value checked."""
    if not 0 <= min_overlap <= 1:
        raise InputError(f"--min-overlap must be a share from 0 to 1, got {min_overlap!r}")
    if measure not in ("gold", "iou"):
        raise InputError(f"--overlap must be gold or iou, got {measure!r}")
    overrides = {}
    for item in by_label:
        label, sep, value = item.partition("=")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not sep or not label.strip() or not 0 <= share <= 1:
            raise InputError(f"--min-overlap-label {item!r}: write LABEL=X with X from 0 to 1, e.g. DATE=0.8")
        overrides[label.strip()] = share
    if train is not None and not train.exists():
        raise InputError("train file not found", path=train)
    return Views(min_overlap, measure, overrides, buckets, train)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ci(ci: Sequence[float] | None) -> str:
    return f"{_fmt(ci[0])}–{_fmt(ci[1])}" if ci else "—"


def _print_scores(metrics: dict[str, Any]) -> None:
    micro, macro, counts = metrics["micro"], metrics["macro"], metrics["counts"]
    ci = micro["f1_ci"]
    head = Table(title="Strict span scores", title_justify="left")
    for column in ("", "precision", "recall", "F1", "95% CI", "gold spans"):
        head.add_column(column, justify="right")
    head.add_row("micro", _fmt(micro["precision"]), _fmt(micro["recall"]), _fmt(micro["f1"]), _ci(ci),
                 str(counts["gold"]))  # fmt: skip
    head.add_row("macro", _fmt(macro["precision"]), _fmt(macro["recall"]), _fmt(macro["f1"]), "", "")
    for label, row in metrics["per_label"].items():
        head.add_row(label, _fmt(row["precision"]), _fmt(row["recall"]), _fmt(row["f1"]), _ci(row.get("f1_ci")),
                     str(row["support"]))  # fmt: skip
    out.print(head)
    errors = Table(title="Where the predictions went", title_justify="left")
    for name in counts:
        errors.add_column(name.replace("_", " "), justify="right")
    errors.add_row(*(str(v) for v in counts.values()))
    out.print(errors)
    out.print(
        f"schema error rate {_fmt(metrics['schema_error_rate'])}   "
        f"boundary error rate {_fmt(metrics['boundary_error_rate'])}   repairs {metrics['repairs']}"
    )
    relaxed = metrics.get("relaxed")
    if relaxed:
        out.print(
            f"relaxed F1 {_fmt(relaxed['f1'])} (a same-label boundary error covering >= {relaxed['min_overlap']:g} "
            f"of {'the gold span' if relaxed['measure'] == 'gold' else 'the union'} counts as correct)"
        )
    semeval = Table(title="SemEval-2013 views", title_justify="left")
    for column in ("view", "COR", "INC", "PAR", "MIS", "SPU", "P", "R", "F1"):
        semeval.add_column(column, justify="right")
    for view, v in metrics["semeval"].items():
        semeval.add_row(view, *(str(v[k]) for k in ("correct", "incorrect", "partial", "missed", "spurious")),
                        _fmt(v["precision"]), _fmt(v["recall"]), _fmt(v["f1"]))  # fmt: skip
    out.print(semeval)


@app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="File (or directory) to read.")],
    target: Annotated[Path, typer.Argument(help="File to write: .jsonl for offsets, .conll/.txt for CoNLL IOB2.")],
    from_format: Annotated[str, typer.Option("--from", help="Format of SOURCE (default: detect).")] = "auto",
    to_format: Annotated[
        str, typer.Option("--to", help="Format of TARGET: jsonl or conll (default: by extension).")
    ] = "auto",
    scheme: SchemeOpt = "auto",
    repair: RepairOpt = Repair.conlleval,
    group: GroupOpt = Group.sentence,
    tag_column: TagColumnOpt = -1,
    multi_label: MultiLabelOpt = "error",
) -> None:
    """Convert gold data between formats (any readable format -> JSONL offsets or CoNLL IOB2)."""
    corpus = read_corpus(
        source, format=from_format, scheme=scheme, repair=repair.value, group=group.value,
        tag_column=tag_column, multi_label=multi_label,
    )  # fmt: skip
    write_documents(corpus.documents, target, format=to_format)
    note = f", {corpus.repairs} tag repairs" if corpus.repairs else ""
    for line in corpus.notes:
        out.print(f"note: {line}", style="yellow")
    out.print(f"wrote {len(corpus.documents)} documents, {corpus.entity_count} spans to {target}{note}")


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


StoreOpt = Annotated[Path, typer.Option("--store", help="Results database (SQLite).", readable=False)]


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be a number of documents, at least 1, got {limit}")


@app.command()
def run(
    suite_file: Annotated[Path, typer.Argument(metavar="SUITE", help="Suite file (YAML).")],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Run directory (default runs/<run-id>/): absent, empty, or an earlier run's."),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
    models: Annotated[str | None, typer.Option(help="Only these models (comma-separated).")] = None,
    datasets: Annotated[str | None, typer.Option(help="Only these datasets (comma-separated).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N documents of each dataset.")] = None,
    resume: Annotated[
        bool, typer.Option(help="Resume this suite's unfinished run (into its own run directory).")
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Predict again even where predictions are cached.")
    ] = False,
    max_cost: Annotated[float | None, typer.Option(help="Stop sending once billed cost reaches this many USD.")] = None,
    jobs: Annotated[int, typer.Option(help="Run up to N models at once (each model's cells in order).")] = 1,
    executor: Annotated[
        str, typer.Option(help="Where workers run: local (processes here) or ray (Ray actors; pip extra ray).")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="--executor ray: the cluster: auto, HOST:PORT or ray://HOST:10001 (default: a new one here)"),
    ] = None,
) -> None:
    """Run a suite: every model over every dataset, scored, timed and costed; writes a run directory.

    Exits 1 when a cell failed or its labels did not match the dataset's (after writing everything), else 0;
    130 or 143 when interrupted (SIGINT, SIGTERM): resume with --resume.
    """
    from nerbench.cli_views import RunProgress, print_summary
    from nerbench.harness.executors import check_executor
    from nerbench.harness.record import run_and_record
    from nerbench.harness.runner import RunOptions
    from nerbench.harness.suite import load_suite
    from nerbench.reports.model import load_report
    from nerbench.reports.write import write_report

    _check_limit(limit)
    if max_cost is not None and not (math.isfinite(max_cost) and max_cost >= 0):
        raise InputError(f"--max-cost must be a number of USD, 0 or more, got {max_cost}")
    if not 1 <= jobs <= limits.MAX_JOBS:
        raise InputError(f"--jobs must be a number of models from 1 to {limits.MAX_JOBS}, got {jobs}")
    check_executor(executor, address)
    suite = load_suite(suite_file).select(models=_split(models), datasets=_split(datasets))
    options = RunOptions(
        store=store, out_dir=out_dir, limit=limit, resume=resume, use_cache=not no_cache, max_cost_usd=max_cost,
        jobs=jobs, executor=executor, address=address,
    )  # fmt: skip
    started: dict[str, str] = {}
    try:
        with RunProgress(out) as progress:

            def progress_noting(event: str, **data: Any) -> None:
                if event == "run_start":
                    started["run_id"] = str(data["run_id"])
                progress(event, **data)

            recorded = run_and_record(suite, options, progress_noting, with_details=False)
    except Interrupted as err:
        flags = {"--models": models, "--datasets": datasets, "--limit": limit, "--max-cost": max_cost,
                 "--jobs": jobs if jobs != 1 else None, "--executor": executor if executor != "local" else None,
                 "--address": address}  # fmt: skip
        marked = f"run {started['run_id']} is marked interrupted; " if started else ""
        err.hint = f"{marked}resume it with: {resume_command(suite_file, store, out_dir, flags)}"
        raise
    report = recorded.out_dir / "report.html"
    write_report(load_report(recorded.run_id, store), report)  # the store's rows: quicker than the details files
    print_summary(out, recorded.cells)
    out.print(f"run {recorded.run_id}: {recorded.results_path}")
    out.print(f"report: {report}")
    if recorded.not_results:
        out.print(f"{len(recorded.not_results)} of {len(recorded.cells)} cells are not results (see above): exit 1")
        raise typer.Exit(1)


@app.command()
def report(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="A run directory, a run id (or prefix), or latest.")],
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file (default: the run's report.html); FILE.md and FILE.csv go beside it."),
    ] = None,
    compare: Annotated[str | None, typer.Option(help="Another run to compare with (directory, id or latest).")] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Write a run's HTML report, optionally against another run.

    In the run directory (no --out) it is report.html, with report.md beside it (and results.csv where
    missing); with --out FILE, the Markdown and CSV are named after FILE (docs/summary.html: docs/summary.md,
    docs/summary.csv), so nothing else in FILE's folder is replaced.
    """
    from nerbench.reports.model import load_report
    from nerbench.reports.write import write_report

    if out_file is not None:
        check_report_target(out_file)
    current = load_report(run_ref, store)
    other = load_report(compare, store) if compare else None
    target = out_file or _default_report_path(run_ref, current.run, store)
    for path in write_report(current, target, other=other, named_after=out_file is not None):
        out.print(f"wrote {path}")


def check_report_target(path: Path) -> None:
    """``report --out FILE``: a file, whose Markdown and CSV siblings are not FILE itself."""
    if path.is_dir():
        raise InputError("--out names a directory: give the HTML file to write (e.g. docs/summary.html)", path=path)
    if path.suffix.lower() in (".md", ".csv"):
        raise InputError(
            f"--out names a {path.suffix} file: give the HTML file; its .md and .csv are written beside it", path=path
        )


def _default_report_path(run_ref: str, run: RunInfo, store: Path) -> Path:
    if Path(run_ref).is_dir():
        return Path(run_ref) / "report.html"
    from nerbench.harness.store import Store

    db = Store(store, read_only=True)
    try:
        record = db.run(run.id) or {}
    finally:
        db.close()
    return Path(record.get("out_dir") or Path("runs") / run.id) / "report.html"


@app.command()
def export(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="A run directory, a run id (or prefix), or latest.")],
    to_mlflow: Annotated[bool, typer.Option("--mlflow", help="Log each cell as an MLflow run (nerbench[mlflow]).")] = (
        False
    ),
    tracking_uri: Annotated[
        str | None, typer.Option(help="With --mlflow: the tracking URI (default: MLflow's, e.g. MLFLOW_TRACKING_URI).")
    ] = None,
    experiment: Annotated[str | None, typer.Option(help="With --mlflow: the experiment (default: the suite).")] = None,
    file_format: Annotated[
        str | None, typer.Option("--format", help="Write files instead: parquet (nerbench[parquet]).")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="With --format: the cells' file; per-label beside it (.per_label).")
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Export a run: each cell as an MLflow run (re-exporting updates, never duplicates), or as parquet files."""
    from nerbench.harness.results import load_run
    from nerbench.reports import export as exporting

    if to_mlflow == (file_format is not None):
        raise InputError("give --mlflow, or --format parquet --out FILE")
    if file_format is not None and (file_format != "parquet" or out_file is None):
        raise InputError(f"--format {file_format!r}: give --format parquet --out FILE (parquet is the file format)")
    if to_mlflow and out_file is not None:
        raise InputError("--out goes with --format parquet; --mlflow writes to the tracking URI")
    if not to_mlflow and (tracking_uri or experiment):
        raise InputError("--tracking-uri and --experiment go with --mlflow")
    loaded = load_run(run_ref, store)
    if out_file is not None:
        for path in exporting.export_parquet(loaded, out_file):
            out.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)
        return
    text = exporting.suite_text(loaded.result.run.id, store)
    done = exporting.export_mlflow(loaded, tracking_uri=tracking_uri, experiment=experiment, suite=text)
    lines = [f"{c.action}: {c.model} on {c.dataset} (MLflow run {c.mlflow_run_id})" for c in done.cells]
    lines.append(f"run {loaded.result.run.id}: {len(done.cells)} cells in MLflow experiment {done.experiment!r} "
                 f"({done.experiment_id}) at {done.tracking_uri}")  # fmt: skip
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


GateFloat = Annotated[float | None, typer.Option(help="Threshold (see README, 'Gate').")]


@app.command()
def gate(
    suite_file: Annotated[Path | None, typer.Argument(metavar="[SUITE]", help="Suite file with a gate: block.")] = None,
    gold: Annotated[Path | None, typer.Option(help="Gate one model on this gold file instead of a suite.")] = None,
    model: Annotated[str | None, typer.Option(help="With --gold: ADAPTER[:KEY=VALUE,...] or a model YAML.")] = None,
    train: Annotated[Path | None, typer.Option(help="With --gold: train split for models that train.")] = None,
    label_map: Annotated[str | None, typer.Option("--map", help="With --gold: label map for the model.")] = None,
    min_f1: GateFloat = None,
    min_f1_lower: Annotated[
        float | None, typer.Option(help="Minimum lower bound of the F1 95% CI: a small gold set cannot pass by luck.")
    ] = None,
    min_label_f1: Annotated[list[str] | None, typer.Option(help="LABEL=X, repeatable.")] = None,
    max_schema_error_rate: GateFloat = None,
    max_boundary_error_rate: GateFloat = None,
    max_invalid_rate: GateFloat = None,
    max_p95_ms: GateFloat = None,
    max_usd_per_1k: GateFloat = None,
    threshold: Annotated[
        list[str] | None, typer.Option(help="KEY=X for any threshold of the metric table (min_recall=0.7), repeatable.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Baseline: a baseline file or run directory, a run id or prefix, or latest.")
    ] = None,
    max_drop: GateFloat = None,
    accept: Annotated[
        Path | None, typer.Option(help="On a pass, write this run as the baseline file to commit beside the gold.")
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here (one test case per check).")] = None,
    summary: Annotated[Path | None, typer.Option(help="Write a Markdown summary here.")] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Fail CI when a model misses its thresholds or drops significantly: exit 0 pass, 1 fail, 2 bad input.

    --junit and --summary are written on every exit, 2 included (one error test case saying why).
    """
    from nerbench.errors import NerbenchError
    from nerbench.harness.gate import junit_xml, markdown_summary

    flags = {"min_f1": min_f1, "min_f1_lower": min_f1_lower, "max_schema_error_rate": max_schema_error_rate,
             "max_p95_ms": max_p95_ms, "max_boundary_error_rate": max_boundary_error_rate,
             "max_invalid_rate": max_invalid_rate, "max_usd_per_1k": max_usd_per_1k}  # fmt: skip
    try:
        code = _gate(suite_file, gold, model, train, label_map, flags, min_label_f1 or [], threshold or [],
                     baseline, max_drop, accept, junit, summary, store)  # fmt: skip
    except NerbenchError as err:
        reason = redact.text(str(err))
        _write_gate_file(junit, junit_xml([], error=reason))
        _write_gate_file(summary, markdown_summary([], title="nerbench gate", error=reason))
        raise
    raise typer.Exit(code)


def _write_gate_file(path: Path | None, text: str) -> None:
    """Write a gate output; failing to write it is its own one-line error, never a traceback."""
    from nerbench.fileio import atomic_write

    if path is not None:
        try:
            atomic_write(path, text)
        except OSError as err:
            raise InputError(f"cannot write the gate output: {err.strerror or err}", path=path) from None


def _gate(
    suite_file: Path | None, gold: Path | None, model: str | None, train: Path | None, label_map: str | None,
    flags: dict[str, float | None], label_f1: list[str], extra: list[str], baseline: str | None,
    max_drop: float | None, accept: Path | None, junit: Path | None, summary: Path | None, store: Path,
) -> int:  # fmt: skip
    from nerbench.cli_views import RunProgress
    from nerbench.harness.gate import junit_xml, line, markdown_summary
    from nerbench.harness.gate_config import gold_suite, model_spec, plan_from_block, plan_from_flags
    from nerbench.harness.gate_run import baseline_lines, run_gate
    from nerbench.harness.runner import RunOptions
    from nerbench.harness.suite import load_suite

    for path in (junit, summary):
        if path is not None and path.is_dir():
            raise InputError("names a directory: give a file path for the gate output", path=path)
    if (suite_file is None) == (gold is None) or (gold is not None and model is None):
        raise InputError("give either a SUITE with a gate: block, or --gold FILE --model SPEC")
    if suite_file is not None:
        suite = load_suite(suite_file)
        plan = plan_from_block(suite.gate, suite_file)
        if plan.baseline not in (None, "latest") and (suite_file.parent / str(plan.baseline)).exists():
            plan = replace(plan, baseline=str(suite_file.parent / str(plan.baseline)))  # relative to the suite file
    else:
        assert gold is not None and model is not None
        suite = gold_suite(gold, model_spec(model, label_map), train=train)
        plan = plan_from_flags(flags, label_f1, baseline, max_drop, extra)
    with RunProgress(out) as progress:
        result = run_gate(suite, plan, RunOptions(store=store), progress, accept=accept)
    for cell in result.cells:
        if cell.status == "schema-mismatch":
            print(f"nerbench: warning: {cell.model} on {cell.dataset}: {cell.reason}", file=sys.stderr)
    for text in baseline_lines(result):
        out.print(text, markup=False, highlight=False, soft_wrap=True)
    for outcome in result.outcomes:
        style = None if outcome.passed else "red"
        out.print(line(outcome), style=style, markup=False, highlight=False, soft_wrap=True)
    title = f"nerbench gate ({suite.name}, run {result.run_id})"
    _write_gate_file(junit, junit_xml(result.outcomes))
    _write_gate_file(summary, markdown_summary(result.outcomes, title=title, baseline=baseline_lines(result)))
    failed = sum(not o.passed for o in result.outcomes)
    out.print(
        f"gate {'FAILED' if failed else 'passed'}: {len(result.outcomes) - failed}/{len(result.outcomes)} checks pass"
    )
    if accept is not None and not failed:
        out.print(f"accepted as the baseline: {accept} (commit it beside the gold; gate with --baseline {accept})")
    return 1 if failed else 0


@app.command("runs")
def runs_command(store: StoreOpt = DEFAULT_STORE) -> None:
    """List the runs in the results store."""
    from nerbench.harness.store import Store, is_new

    if is_new(store):
        out.print(f"no runs yet ({store} does not exist or is empty)")
        return
    db = Store(store, read_only=True)  # a listing never creates or writes a store
    try:
        table = Table(title=f"Runs in {store}", title_justify="left")
        table.add_column("id", no_wrap=True)
        for column in ("suite", "created", "status", "cells", "directory"):
            table.add_column(column, overflow="fold")
        for r in db.runs():
            table.add_row(r["id"], r["suite"], r["created_at"], r["status"], str(len(db.cells(r["id"]))), r["out_dir"])
        out.print(table)
    finally:
        db.close()


@app.command("models")
def models_command() -> None:
    """List the model adapters, whether their extra is installed, their native labels where known, and notices."""
    from nerbench.cli_views import describe_adapters

    table = Table(title="Model adapters", title_justify="left")
    for column in ("adapter", "family", "installed", "native labels"):
        table.add_column(column)
    rows = describe_adapters()
    for row in rows:
        table.add_row(row["name"], row["family"], row["installed"], row["labels"])
    out.print(table)
    for row in rows:
        if row["notice"]:
            out.print(f"note: {row['name']}: {row['notice']}", style="yellow", soft_wrap=True)


@app.command("maps")
def maps_command() -> None:
    """Print every built-in label map as Markdown (README's "Built-in label maps" section is this output)."""
    from nerbench.labels import maps_markdown

    sys.stdout.write(maps_markdown())


@app.command("datasets")
def datasets_command() -> None:
    """List the gold-data readers and the catalog of public benchmarks."""
    from nerbench.cli_views import catalog_row, load_catalog

    table = Table(title="Gold-data formats", title_justify="left")
    for column in ("format", "extensions", "description"):
        table.add_column(column)
    for name, fmt in formats().items():
        table.add_row(name, " ".join(fmt.extensions), fmt.description)
    out.print(table)
    catalog = load_catalog()
    if catalog:
        bench = Table(title="Public benchmarks (bring your own copy)", title_justify="left")
        for column in ("name", "licence", "labels", "read with", "get it"):
            bench.add_column(column)
        for entry in catalog:
            bench.add_row(*catalog_row(entry))
        out.print(bench)


@app.command()
def estimate(
    suite_file: Annotated[Path, typer.Argument(metavar="SUITE", help="Suite file (YAML).")],
    limit: Annotated[int | None, typer.Option(help="Only the first N documents of each dataset.")] = None,
) -> None:
    """Documents, characters, billing units and dollars per model, before anything is sent."""
    from nerbench.harness.estimate import estimate_suite
    from nerbench.harness.suite import load_suite

    _check_limit(limit)
    suite = load_suite(suite_file)
    table = Table(title=f"Estimate for {suite.name}", title_justify="left")
    for column in ("model", "dataset", "documents", "characters", "units", "USD", "basis"):
        table.add_column(column, justify="right")
    for row in estimate_suite(suite, limit=limit):
        table.add_row(
            row["model"], row["dataset"], str(row["documents"]), str(row["characters"]),
            _fmt(row["units"], 0) if row["units"] is not None else "—",
            _fmt(row["usd"], 4) if row["usd"] is not None else "—", row["basis"],
        )  # fmt: skip
    out.print(table)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; NerbenchError -> one line on stderr, exit 2; SIGINT/SIGTERM -> one line, 130/143.

    Everything printed passes through :mod:`nerbench.redact`.
    """
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = redact.RedactingStream(sys.stdout), redact.RedactingStream(sys.stderr)
    try:
        with signals_interrupt():
            app(args=args, prog_name="nerbench")
    except NerbenchError as err:
        _say(f"error: {err}", debug=debug)
        sys.exit(2)
    except Interrupted as err:
        what = f"interrupted by {signal.Signals(err.signum).name}"
        _say(f"{what}: {err.hint}" if err.hint else what, debug=debug)
        sys.stdout.flush()
        os._exit(128 + err.signum)  # all is recorded, closed and flushed: skip the interpreter's slow teardown
    except Exception:
        _say("unexpected error (the traceback above): please report it", debug=True)
        sys.exit(1)
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = streams


def one_line(message: str) -> str:
    """``message`` as one line: a line break in a value it quotes is shown as ``\\n``."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def _say(message: str, *, debug: bool) -> None:
    """One line on stderr (after the traceback, with ``--debug``), redacted."""
    if debug:
        sys.stderr.write(redact.text(traceback.format_exc()))
    sys.stderr.write(one_line(redact.text(f"nerbench: {message}")) + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    main()
