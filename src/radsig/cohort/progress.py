"""Live progress of a cohort run (rich): cases done, failed, from cache, time remaining.

The runner only calls ``start(total)``, ``update(record)`` and ``stop()``; this is the one place
that draws on the terminal (on stderr, so the table and summary on stdout stay clean).
"""

from __future__ import annotations


class RichProgress:
    """A rich progress bar fed with worker records."""

    def __init__(self, description: str = "extracting") -> None:
        self.description = description
        self._progress = None
        self._task = None
        self._failed = 0
        self._cached = 0

    def start(self, total: int, already_failed: int = 0) -> None:
        """Show the bar for *total* cases (of which *already_failed* failed at validation)."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._failed = already_failed
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("[cyan]{task.fields[cached]} cached"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False)
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=total,
                                             completed=already_failed, failed=self._failed,
                                             cached=0)

    def update(self, record: dict) -> None:
        """Advance by one finished case."""
        if self._progress is None:
            return
        self._failed += record.get("status") == "failed"
        self._cached += record.get("status") == "cached"
        self._progress.update(self._task, advance=1, failed=self._failed, cached=self._cached)

    def stop(self) -> None:
        """Remove the live display (the last state stays printed)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
