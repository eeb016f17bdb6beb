"""A self-contained HTML page of a run's leaderboards (Jinja2, autoescaped)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _env() -> Environment:
    env = Environment(loader=PackageLoader("nerbench.reports", "templates"), autoescape=select_autoescape(default=True))
    env.filters["num"] = _num
    return env


def leaderboards(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Cells grouped by dataset, best F1 first (failed cells last)."""
    boards: dict[str, list[dict[str, Any]]] = {d["name"]: [] for d in document.get("datasets", [])}
    for cell in document["cells"]:
        boards.setdefault(cell["dataset"], []).append(cell)
    for cells in boards.values():
        cells.sort(key=lambda c: -((c.get("metrics") or {}).get("micro", {}).get("f1") or -1.0))
    return boards


def render_html(document: dict[str, Any]) -> str:
    """The report page for one ``results.json`` document."""
    template = _env().get_template("report.html.j2")
    return template.render(run=document["run"], datasets=document.get("datasets", []), boards=leaderboards(document))
