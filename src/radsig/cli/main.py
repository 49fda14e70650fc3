"""The ``radsig`` command: one typer app; each command group lives in its own module.

A command module exposes ``register(app)``; this file only wires them and turns
:class:`radsig.exceptions.RadsigError` into a one-line message with exit code 2.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys


def _is_program() -> bool:
    """True when this process is the radsig command (console script or ``python -m radsig``),
    not a program (a test, a notebook) that calls :func:`main`."""
    entry = sys.modules.get("__main__")
    spec = getattr(entry, "__spec__", None)
    if spec is not None and spec.name == "radsig.__main__":
        return True
    return os.path.basename(getattr(entry, "__file__", "") or "") == "radsig"


def _prefetch_extract_image(args: list[str]) -> None:
    """``radsig extract IMAGE.nii.gz MASK.nii.gz ...``: start inflating the image on another core
    while typer parses the arguments and the command imports its modules (see
    its :func:`radsig.io.gzstream.prefetch`); the files are the first two ``.nii.gz`` arguments."""
    if not args or args[0] != "extract":
        return
    # One case needs no BLAS thread pool (its only matrix products are 3 x 3 to 4 x 4), and
    # OpenBLAS's threads spin ~0.05 s CPU when NumPy loads, on the core the inflate runs on.
    # Set before NumPy is imported; a user's own setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    files = [a for a in args[1:] if a.lower().endswith(".nii.gz") and not a.startswith("-")]
    if len(files) >= 2:  # image and mask: the NIfTI readers that take the pieces need both
        from radsig.io.gzstream import prefetch  # imports no NumPy: starts at once

        prefetch(files[0], files[1])
    _keep_freed_memory()  # (after: importing ctypes would delay the prefetch by ~3 ms)


def _keep_freed_memory() -> None:
    """Let glibc keep up to 64 MB of freed memory for reuse (a one-case process): by default it
    hands blocks of 128 KB to 32 MB back to the kernel when freed (and maps the next ones
    afresh), so the inflated pieces, resampled arrays and FFT buffers of one extraction,
    allocated and freed over and over, page-faulted ~15,000 zeroed pages back in: ~0.07 s of
    system time in a 0.4 s ``radsig extract`` (medium CT, IBSI settings). The price is up to
    64 MB more at the peak (medium CT 110 -> 165 MiB; PyRadiomics: 585). Linux/glibc only; a
    user's GLIBC_TUNABLES wins."""
    if not sys.platform.startswith("linux") or "GLIBC_TUNABLES" in os.environ:
        return
    try:
        import ctypes  # (NumPy imports it anyway)

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's mallopt parameters
    mallopt(m_mmap_threshold, 32 << 20)  # blocks up to 32 MB from the heap (glibc's maximum)
    mallopt(m_trim_threshold, 64 << 20)  # ... which keeps up to 64 MB free for reuse


if _is_program():  # before typer and NumPy are imported: the image inflates meanwhile
    _prefetch_extract_image(sys.argv[1:])

import typer  # noqa: E402

from radsig import __version__  # noqa: E402

app = typer.Typer(
    name="radsig",
    help=(
        "radsig: from a cohort's scans and outcomes to a validated radiomics signature.\n\n"
        "Examples:\n\n\b\n"  # \b: click keeps the example lines unwrapped
        "  radsig demo --out radsig_demo\n"
        "  radsig extract image.nii.gz mask.nii.gz --params params/ibsi/config_c.yaml --out f.csv"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # plain help formatting: Typer's rich formatter imports rich + markdown-it (~0.1 s), which
    # would make ``radsig --help`` take ~0.2 s
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"radsig {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """radsig: radiomics signatures for immunotherapy response and prognosis."""


#: the command module (``radsig.cli.<module>``) that registers each top-level command
COMMANDS = {"extract": "extract", "dicom": "dicom", "cohort": "cohort", "study": "study",
            "demo": "study", "example": "study", "predict": "study", "validate-study": "study",
            "filter": "filter", "serve": "serve", "nomogram": "serve", "card": "serve"}


def _modules_to_register() -> list[str]:
    """Every command module, or, when this process is the ``radsig`` program running one named
    command (``radsig extract …``), that command's module only: typer turns every registered
    function into a click command (signatures, docstrings) at each start, ~15 ms for all."""
    args = sys.argv[1:]
    if _is_program() and args and args[0] in COMMANDS and "--help" not in args:
        return [COMMANDS[args[0]]]
    return list(dict.fromkeys(COMMANDS.values()))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Every warning as one ``warning: …`` line on stderr (no source path or code line)."""
    text = " ".join(str(message).split())
    if text not in _shown:  # the same warning from many cases or calls: once
        _shown.add(text)
        typer.secho(f"warning: {text}", err=True, fg=typer.colors.YELLOW)


_shown: set[str] = set()


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def main() -> None:
    """Entry point of the ``radsig`` console script.

    Exit codes: 0 done; 1 completed with failures (cohort extract); 2 input error (one
    ``error: …`` line); 130 interrupted. Warnings are ``warning: …`` lines.
    """
    import warnings

    from radsig.exceptions import RadsigError

    try:  # typer >= 0.2x carries its own copy of click
        from typer._click import exceptions as click_errors
    except ImportError:  # pragma: no cover - older typer on the public click
        from click import exceptions as click_errors
    no_args = getattr(click_errors, "NoArgsIsHelpError", ())

    warnings.showwarning = _show_warning
    program = _is_program()
    if program:
        # A command imports ~10^5 long-lived objects (NumPy, pydantic, typer); the cyclic GC
        # walked them over and over while importing and once more at exit. Fewer young-object
        # collections, and freezing everything before the interpreter's teardown, saved
        # ~0.1 s CPU of a 0.45 s `radsig extract` (medium CT, S1) and ~0.15 s in IBSI mode.
        gc.set_threshold(10_000, 50, 100)
        # pydantic (study files, model cards; typer >= 0.29's argument coercion) scans every
        # installed package's entry points for plugins at the first model (~0.02 s); radsig
        # uses none. An explicit setting of the user's still wins.
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        code = app(standalone_mode=False)
    except no_args as err:  # `radsig cohort`: its help, as before
        typer.echo(err.ctx.get_help() if err.ctx else str(err))
        sys.exit(2)
    except click_errors.UsageError as err:  # a missing argument, an option out of range
        where = f" (see '{err.ctx.command_path} --help')" if err.ctx else ""
        typer.secho(f"error: {_one_line(err.format_message())}{where}", err=True,
                    fg=typer.colors.RED)
        sys.exit(2)
    except click_errors.ClickException as err:
        typer.secho(f"error: {_one_line(err.format_message())}", err=True, fg=typer.colors.RED)
        sys.exit(err.exit_code)
    except typer.Abort:
        typer.secho("interrupted", err=True)
        sys.exit(130)
    except RadsigError as err:
        typer.secho(f"error: {_one_line(err)}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except OSError as err:  # a file the user named cannot be read or written
        where = f"{err.filename}: " if getattr(err, "filename", None) else ""
        typer.secho(f"error: {where}{err.strerror or _one_line(err)}", err=True,
                    fg=typer.colors.RED)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
    finally:
        if program:
            gc.freeze()  # objects alive at exit are freed without another GC pass
    _exit(code if isinstance(code, int) else 0, program)


def _exit(code: int, program: bool) -> None:
    """Exit with *code*; straight away after ``radsig extract``: one case done, its table is
    written and closed (atomically), the gzip streams' checks have been awaited, no thread is
    left, and the interpreter's teardown (clearing the modules of NumPy, typer and the feature
    engine) would add ~8 ms to a 0.3 s command."""
    if program and sys.argv[1:2] == ["extract"]:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError:  # e.g. `radsig extract ... | head`: the reader has gone
                pass
        os._exit(code)
    sys.exit(code)


for _name in _modules_to_register():
    importlib.import_module(f"radsig.cli.{_name}").register(app)


if __name__ == "__main__":  # pragma: no cover
    main()
