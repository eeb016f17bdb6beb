"""What the CLI shows: run progress bars, the summary table, adapter and catalog listings."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nerbench.adapters.models import adapter_class, adapter_names
from nerbench.buckets import ATTRIBUTES, MIN_SUPPORT, Bucket
from nerbench.errors import NerbenchError
from nerbench.harness import metric_info
from nerbench.harness.cell_result import CellResult

CATALOG = Path(__file__).resolve().parents[1] / "datasets" / "catalog.yaml"


class RunProgress:
    """A progress bar per model x dataset, fed by the runner's events."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bars = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=False,
        )  # fmt: skip
        self.tasks: dict[tuple[str, str], Any] = {}

    def __enter__(self) -> RunProgress:
        self.bars.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.bars.__exit__(kind, err, tb)

    def __call__(self, event: str, **data: Any) -> None:
        key = (data.get("model", ""), data.get("dataset", ""))
        if event == "cell_start":
            label = f"{key[0]} × {key[1]}" + (" (cached)" if data.get("cached") else "")
            self.tasks[key] = self.bars.add_task(label, total=data["documents"])
            if data.get("cached"):
                self.bars.update(self.tasks[key], completed=data["documents"])
        elif event == "batch" and key in self.tasks:
            self.bars.advance(self.tasks[key], data["advance"])
        elif event == "cell_failed":
            self.console.print(f"[red]{key[0]} × {key[1]} failed:[/red] {data['error']}")
        elif event == "model_skipped":
            self.console.print(f"[yellow]{key[0]} skipped:[/yellow] {data['reason']} (its if_installed: list)")


def print_summary(console: Console, cells: Sequence[CellResult]) -> None:
    """The leaderboard of every dataset, best F1 first, its columns read from the MetricInfo table.

    Cells that are not results (failed, schema mismatch) come last with their reason instead of numbers.
    """
    columns = [m for m in metric_info.METRICS if m.summary]
    by_dataset: dict[str, list[CellResult]] = {}
    for cell in cells:
        by_dataset.setdefault(cell.dataset, []).append(cell)
    for dataset, rows in by_dataset.items():
        table = Table(title=f"{dataset}", title_justify="left")
        table.add_column("model", no_wrap=True)
        for m in columns:
            table.add_column(m.header, justify="right", no_wrap=True)
            if m.interval is not None:
                table.add_column("95% CI", justify="right", no_wrap=True)
        table.add_column("label map", no_wrap=True)
        rows.sort(key=lambda c: (not c.ranked, -(c.f1 or 0.0)))
        for c in rows:
            if not c.ranked:
                table.add_row(c.model, *[""] * (len(table.columns) - 2), c.label_map_text, style="red")
                continue
            values = []
            for m in columns:
                values.append(m.format(m.value(c)))
                if m.interval is not None:
                    ci = m.interval(c)
                    values.append(f"{ci[0]:.2f}–{ci[1]:.2f}" if ci else "—")
            table.add_row(c.model, *values, c.label_map_text)
        console.print(table)
        for c in rows:
            if not c.ranked:
                console.print(
                    f"{c.model} × {dataset}: {c.status}: {c.reason}", style="red", markup=False, soft_wrap=True
                )


def print_buckets(console: Console, buckets: Sequence[Bucket]) -> None:
    """One table per attribute: each bucket's gold and predicted support, P, R, F1 and its CI; thin ones marked."""
    by_attribute: dict[str, list[Bucket]] = {}
    for b in buckets:
        by_attribute.setdefault(b.attribute, []).append(b)
    for attribute, rows in by_attribute.items():
        name = ATTRIBUTES[attribute][0]
        note = f" ({rows[0].note})" if rows[0].note else ""
        table = Table(title=f"{name}{note}", title_justify="left")
        for column in ("bucket", "gold", "predicted", "precision", "recall", "F1", "95% CI", ""):
            table.add_column(column, justify="right")
        for b in rows:
            ci = f"{b.f1_ci[0]:.3f}–{b.f1_ci[1]:.3f}" if b.f1_ci else "—"
            mark = f"under {MIN_SUPPORT} gold spans" if b.thin else ""
            table.add_row(b.value, str(b.gold), str(b.predicted), _f(b.precision), _f(b.recall), _f(b.f1), ci, mark)
        console.print(table)
    if buckets and not any(b.attribute == "seen" for b in buckets):
        console.print("no seen / unseen buckets: give --train FILE (the train split) to have them", style="yellow")


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def describe_adapters() -> list[dict[str, str]]:
    """Each registered adapter: family, whether its libraries import, its native labels if fixed, its notice."""
    rows = []
    for name in adapter_names():
        try:
            cls = adapter_class(name)
        except (NerbenchError, ImportError) as err:
            rows.append({"name": name, "family": "?", "installed": f"no ({err})", "labels": "", "notice": ""})
            continue
        requires = getattr(cls, "requires", ())
        missing = [m for m in requires if importlib.util.find_spec(m) is None]
        extra = getattr(cls, "extra", name)
        installed = "yes" if not missing else f"no: pip install 'nerbench[{extra}]'"
        labels = getattr(cls, "native_labels", None)
        shown = ", ".join(sorted(labels)) if labels else "from the model / patterns / training data"
        notice = str(getattr(cls, "notice", ""))  # e.g. a provider's end of support
        rows.append({"name": name, "family": cls.family, "installed": installed, "labels": shown, "notice": notice})
    return rows


def load_catalog(path: Path = CATALOG) -> list[dict[str, Any]]:
    """The public benchmarks catalog, where this checkout has one."""
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("datasets", data) if isinstance(data, dict) else data
    if isinstance(entries, dict):
        entries = [{"name": k, **v} for k, v in entries.items()]
    return [e for e in entries if isinstance(e, dict)]


def catalog_row(entry: dict[str, Any]) -> tuple[str, str, str, str, str]:
    labels = entry.get("labels") or entry.get("schema") or ""
    if isinstance(labels, list | dict):
        labels = ", ".join(map(str, labels))
    reader = entry.get("reader") or entry.get("nerbench") or ""
    if isinstance(reader, dict):
        reader = ", ".join(f"{k}={v}" for k, v in reader.items())
    where = entry.get("source") or entry.get("url") or entry.get("where") or ""
    if isinstance(where, list | dict):
        where = " ".join(map(str, where.values() if isinstance(where, dict) else where))
    return (
        str(entry.get("name", "")),
        str(entry.get("licence") or entry.get("license") or ""),
        str(labels),
        str(reader),
        str(where),
    )
