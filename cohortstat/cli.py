"""The ``cohortstat`` command line: a thin layer over the Python API.

Exit status: 0 success, 1 a verification found differences, 2 bad input (study file, data, arguments).
Errors of type :class:`cohortstat.errors.CohortstatError` are printed without a traceback.
"""

from __future__ import annotations

import sys

import typer

from cohortstat._version import __version__
from cohortstat.errors import CohortstatError

app = typer.Typer(
    name="cohortstat",
    help="Retrospective cohort studies on hospital-discharge data: cohorts, Cox, Fine-Gray, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Retrospective cohort studies on hospital-discharge data."""


def _fail(exc: BaseException, code: int = 2) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code)


@app.command()
def version() -> None:
    """Print the cohortstat version."""
    typer.echo(__version__)


# --- spec commands (validate, freeze) ---------------------------------------------------------


# --- data commands (synth, check-data) --------------------------------------------------------


# --- run commands (run, rerun) ----------------------------------------------------------------


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except CohortstatError as exc:  # typed errors: message, no traceback
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
