"""CLI commands of this group (not yet wired: the owning issue fills this in)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to *app*."""
