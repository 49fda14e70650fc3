"""``radsig serve``, ``radsig nomogram`` and ``radsig card``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def serve(
    model: Path = typer.Argument(..., help="model.json written by `radsig study`."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    token_file: Optional[Path] = typer.Option(None, "--token-file", help="File holding the bearer token /v1/* requires."),
    audit_log: Optional[Path] = typer.Option(None, "--audit-log", help="Append-only JSON-lines audit log."),
    audit_values: bool = typer.Option(False, "--audit-values", help="Also log the input values (patient data)."),
    max_request_mb: float = typer.Option(64.0, "--max-request-mb", help="Largest request body accepted (413 above)."),
    workers: int = typer.Option(1, "--workers", help="Worker processes."),
) -> None:
    """Serve a frozen model over HTTP: POST /v1/score, /v1/score/batch, GET /v1/model, /healthz, / (nomogram)."""
    from radsig._optional import require
    from radsig.exceptions import ConfigError

    for module in ("fastapi", "uvicorn"):  # missing: one 'error:' line naming the serve extra
        require(module, "serve")
    token = None
    if token_file is not None:
        if not token_file.is_file():
            raise ConfigError(f"token file not found: {token_file}")
        token = token_file.read_text(encoding="utf-8").strip()
        if not token:
            raise ConfigError(f"token file {token_file} is empty")
    from radsig.serve.app import run

    run(model, host=host, port=port, token=token, audit_log=audit_log, audit_values=audit_values,
        max_request_mb=max_request_mb, workers=workers)


def nomogram(
    model: Path = typer.Argument(..., help="model.json written by `radsig study`."),
    out: Path = typer.Option(Path("nomogram.html"), "--out", "-o", help="HTML file to write."),
) -> None:
    """Write the web nomogram as one self-contained static HTML file (no patient data inside)."""
    from radsig.serve.page import render_page
    from radsig.serve.scoring import ServedModel

    out.write_text(render_page(ServedModel.load(model), served=False), encoding="utf-8")
    typer.echo(f"nomogram: {out.resolve()}")


def card(
    model: Path = typer.Argument(..., help="model.json written by `radsig study`."),
    out: Path = typer.Option(Path("card.html"), "--out", "-o", help="card.html or card.md."),
) -> None:
    """Write the model card (intended use, cohorts, formula, thresholds, performance, TRIPOD+AI items)."""
    from radsig.serve.card import write_card

    typer.echo(f"model card: {write_card(model, out).resolve()}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to *app*."""
    app.command("serve")(serve)
    app.command("nomogram")(nomogram)
    app.command("card")(card)
