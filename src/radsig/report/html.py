"""The self-contained study report: one HTML page, figures embedded as base64 PNG."""

from __future__ import annotations

import base64
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from radsig.cohort import _atomic
from radsig.report.tables import format_p


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "—"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _ci(res: dict | None, digits: int = 2) -> str:
    if not res or res.get("estimate") is None:
        return "—"
    est = _fmt(res["estimate"], digits)
    if res.get("ci_low") is None or res.get("ci_high") is None:
        return est
    return f"{est} ({_fmt(res['ci_low'], digits)}–{_fmt(res['ci_high'], digits)})"


def embed_png(path: str | Path) -> str:
    """A ``data:`` URI of a PNG file."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def environment() -> Environment:
    env = Environment(loader=PackageLoader("radsig.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters.update({"ci": _ci, "num": _fmt, "pval": format_p, "embed": embed_png})
    return env


def render_report(context: dict, path: str | Path) -> Path:
    """Render ``report.html.j2`` with ``context`` into ``path`` (UTF-8)."""
    html = environment().get_template("report.html.j2").render(**context)
    path = Path(path)
    _atomic.write_text(path, html)
    return path
