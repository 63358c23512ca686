"""The ``cohortstat`` command line: a thin layer over the Python API.

Exit status: 0 success, 1 a verification found differences, 2 bad input (study file, data, arguments,
output folder), 130 interrupted by SIGINT (Ctrl-C), 143 stopped by SIGTERM. Errors of type
:class:`cohortstat.errors.CohortstatError` are printed without a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

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


@app.command()
def validate(
    study: Path = typer.Argument(..., help="the study file (YAML)", dir_okay=False),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print only the spec hash"),
) -> None:
    """Validate a study file: print the resolved study and its hash, or every error (exit 2)."""
    from cohortstat.spec import load_study, spec_hash
    from cohortstat.spec.canonical import to_data

    try:
        resolved = load_study(study)
    except CohortstatError as exc:
        _fail(exc)
    if not quiet:
        typer.echo(json.dumps(to_data(resolved), indent=2, sort_keys=True, ensure_ascii=False))
    typer.echo(f"spec_hash: {spec_hash(resolved)}")


@app.command()
def freeze(
    study: Path = typer.Argument(..., help="the study file (YAML)", dir_okay=False),
    out: Path = typer.Option(..., "--out", help="folder to write study.lock.json into", file_okay=False),
) -> None:
    """Validate a study file and write DIR/study.lock.json (resolved study, hash, version)."""
    from cohortstat.spec import freeze as freeze_study
    from cohortstat.spec import load_study, spec_hash

    try:
        resolved = load_study(study)
        path = freeze_study(resolved, out)
    except CohortstatError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(f"cannot write to {out}: {exc.strerror}")
    typer.echo(f"wrote {path}")
    typer.echo(f"spec_hash: {spec_hash(resolved)}")



# --- data commands (synth, check-data) --------------------------------------------------------


@app.command()
def synth(
    patients: int = typer.Option(None, "--patients", help="number of patients", min=1),
    seed: int = typer.Option(0, "--seed", help="random seed (same seed, byte-identical files)", min=0),
    out: Path = typer.Option(..., "--out", help="folder to write the parquet files and truth.json", file_okay=False),
    sites: int = typer.Option(0, "--sites", help="a simulated network: one data folder per site", min=0),
    layout: str = typer.Option("pmsi", "--layout", help="pmsi, snds (T_MCOaaB/C/D/UM + IR_BEN_R) or omop (CDM v5.4)"),
    csv: bool = typer.Option(False, "--csv", help="';'-separated CSV files instead of parquet (snds, omop)"),
) -> None:
    """Generate synthetic hospital data with planted effects, in the pmsi, SNDS or OMOP layout (+ truth.json).

    A folder holding input tables that synth did not write (no truth.json) is refused: it may be real data.
    """
    from cohortstat.data.synth import generate

    if layout not in ("pmsi", "snds", "omop"):
        _fail(ValueError(f"--layout must be pmsi, snds or omop, got {layout!r}"))
    if sites:  # multi-site network (cohortstat.sites.synth)
        from cohortstat.sites.cli import synth_network

        synth_network(sites, patients or 20000, seed, out)
        return
    if patients is None:
        _fail("--patients is required (the number of patients to generate)")
    if out.is_dir() and any(out.iterdir()) and not (out / "truth.json").is_file():
        _fail(f"{out} already holds files that cohortstat synth did not write (no truth.json): it may be real"
              " data, which synth would overwrite. Choose an empty --out")
    try:
        path = generate(patients, seed, out, layout=layout, csv=csv)
    except OSError as exc:
        _fail(f"cannot write to {out}: {exc.strerror}")
    doc = json.loads((path / "truth.json").read_text(encoding="utf-8"))
    counts = doc["counts"]
    typer.echo(f"wrote {path}: {counts['rows_patients']} patients, {counts['rows_stays']} stays, "
               f"{counts['rows_diagnoses']} diagnoses; index stays: {counts['index_exposed']} sepsis, "
               f"{counts['index_reference']} trauma ({counts['both']} both); planted truth in truth.json")
    if doc.get("planted_layout"):
        typer.echo(f"{layout} layout; planted anomalies: "
                   + ", ".join(f"{k} {v}" for k, v in sorted(doc["planted_layout"].items())))


@app.command("check-data")
def check_data_cmd(
    data: Path = typer.Argument(..., help="the data folder (pmsi, SNDS or OMOP layout)", file_okay=False),
    strict: bool = typer.Option(False, "--strict", help="exit 2 when any anomaly is found (warnings too)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    source: str = typer.Option(None, "--source", help="pmsi, snds or omop (default: detected)"),
    study: Path = typer.Option(None, "--study", help="a study file: also check end_of_data and the years it needs", dir_okay=False),
) -> None:
    """Check input data: schema conformity and named anomalies with counts and example ids (exit 2 on an ERROR)."""
    from cohortstat.data.checks import check_data

    try:
        loaded = None
        if study is not None:
            from cohortstat.spec import load_study

            loaded = load_study(study)
        if not as_json:  # the JSON report names its source
            _echo_source(data, source, err=False)
        report = check_data(data, strict=False, source=source, study=loaded)
    except CohortstatError as exc:
        _fail(exc)
    if as_json:
        typer.echo(report.to_json())
    else:
        typer.echo(report.to_text())
    if report.has_schema_errors or report.errors or (strict and not report.ok):
        raise typer.Exit(2)


def _echo_source(data, source: str | None, err: bool = True) -> None:
    """Print the data layout: given with --source, or detected from the folder's contents."""
    from cohortstat.sources import resolve_source

    name = resolve_source(data, source)
    typer.echo(f"data source: {name} ({'--source' if source else 'detected from the folder contents'})", err=err)


# --- run commands (run, rerun) ----------------------------------------------------------------


def _run_progress():
    """A (callback, closer) pair: rich status on a terminal, one ``cohortstat: step=...`` line otherwise."""
    import os

    if sys.stderr.isatty() and not os.environ.get("CI"):
        from rich.console import Console

        console = Console(stderr=True)
        status = console.status("starting")
        status.start()

        def cb(message: str) -> None:
            console.log(message)
            status.update(message)

        return cb, status.stop

    def line(message: str) -> None:
        if message.startswith(("data check ", "data checks:")):  # a finding for the person running the study, not a step
            typer.echo(f"cohortstat: {message}", err=True)
        else:
            typer.echo(f"cohortstat: step={message!r}", err=True)

    return line, lambda: None


def _interrupted(exc: KeyboardInterrupt, stop) -> None:
    """Exit 128 + the signal number after an interrupt (the run cleaned up before raising)."""
    from cohortstat.interrupts import RunInterrupted

    stop()
    code = exc.exit_code if isinstance(exc, RunInterrupted) else 130
    text = str(exc) if isinstance(exc, RunInterrupted) else "interrupted; nothing was written"
    typer.echo(f"error: {text}", err=True)
    raise typer.Exit(code)


_JOBS_HELP = ("Processes: with 2 or more, sensitivity variants that need their own cohort are built and analysed"
              " in JOBS - 1 worker processes beside the main analysis (DuckDB; memory adds up). Default 1.")
_SPARK_MASTER_HELP = ("Spark engine: local[N], local[*], local-cluster[W,C,MB] or spark://host:port of a standalone"
                      " cluster (default: the profile's, local[threads]).")


def _profile_options(profile: str | None, threads: int | None, memory_limit: str | None,
                     spark_master: str | None = None, jobs: int | None = None):
    from cohortstat.spec.profile import load_profile

    from cohortstat.errors import ReportError, SpecError

    try:
        prof = load_profile(profile) if profile else load_profile(None)
        options = (("threads", threads), ("memory_limit", memory_limit), ("spark_master", spark_master),
                   ("jobs", jobs))
        extra = {k: v for k, v in options if v is not None}
        return load_profile({**prof.model_dump(), **extra}) if extra else prof
    except SpecError as exc:
        raise ReportError("invalid run settings (command-line options or --profile): "
                          + "; ".join(f"{loc}: {msg}" if loc else msg for loc, msg in exc.errors)) from None


@app.command("run")
def run_cmd(
    study: str = typer.Argument(..., help="The study file (YAML)."),
    data: str = typer.Option(..., "--data", help="Folder with patients/stays/diagnoses parquet files."),
    out: str = typer.Option(..., "--out", help="Report folder to create (never the data or the study's folder)."),
    engine: str = typer.Option(None, "--engine", help="duckdb or spark (default: the profile's, duckdb)."),
    min_cell_count: int = typer.Option(None, "--min-cell-count",
                                       help="Counts below this are shown as <k (default 10; below 10 needs"
                                            " --allow-small-cells)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report folder written by cohortstat."),
    strict: bool = typer.Option(None, "--strict/--no-strict",
                                help="Refuse to run when a data check reports an error (default: the study's"
                                     " data_checks.strict)."),
    allow_small_cells: bool = typer.Option(False, "--allow-small-cells",
                                           help="Accept --min-cell-count below 10 (recorded in the outputs)."),
    profile: str = typer.Option(None, "--profile", help="Run profile YAML (engine, threads, memory_limit,"
                                                        " spark_master, min_cell_count)."),
    threads: int = typer.Option(None, "--threads", help="DuckDB threads / Spark cores (default: all).", min=1),
    memory_limit: str = typer.Option(None, "--memory-limit",
                                     help="DuckDB memory limit / Spark driver memory, e.g. 8GB."),
    spark_master: str = typer.Option(None, "--spark-master", metavar="URL", help=_SPARK_MASTER_HELP),
    jobs: int = typer.Option(None, "--jobs", help=_JOBS_HELP, min=1),
    site: str = typer.Option(None, "--site", help="Site name of a multi-site study: also write OUT/site_package."),
    source: str = typer.Option(None, "--source", help="pmsi, snds or omop (default: detected)."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Spark's own log output (default: errors only)."),
) -> None:
    """Run a study end to end and write its report folder."""
    from cohortstat.run import run

    if verbose:  # read by the Spark engine (cohortstat.engines.VERBOSE_ENV)
        os.environ["COHORTSTAT_SPARK_VERBOSE"] = "1"

    if engine is not None and engine not in ("duckdb", "spark"):
        _fail(ValueError(f"--engine must be duckdb or spark, got {engine!r}"))
    cb, stop = _run_progress()
    try:
        if site:  # multi-site: check the name before the run, not after it
            from cohortstat.sites.package import check_site_name

            check_site_name(site)
        prof = _profile_options(profile, threads, memory_limit, spark_master, jobs)
        _echo_source(data, source)
        path = run(study, data, out, engine=engine, min_cell_count=min_cell_count, force=force, progress=cb,
                   strict=strict, allow_small_cells=allow_small_cells, profile=prof, site=site, source=source)
    except CohortstatError as exc:
        stop()
        _fail(exc)
    except KeyboardInterrupt as exc:
        _interrupted(exc, stop)
    except OSError as exc:  # disk full, permissions changed during the run: the run cleaned up first
        stop()
        _fail(f"{exc.strerror or exc}: {exc.filename or ''}; nothing was written")
    stop()
    typer.echo(f"report written to {path}")


@app.command("rerun")
def rerun_cmd(
    out: str = typer.Argument(..., help="A finished report folder."),
    data: str = typer.Option(..., "--data", help="The data folder of the original run."),
    out2: str = typer.Option(None, "--out", help="Where to write the rerun (default OUT.rerun)."),
    allow_data_change: bool = typer.Option(False, "--allow-data-change", help="Compare even if the data changed."),
    force: bool = typer.Option(False, "--force", help="Replace an existing rerun folder written by cohortstat."),
    min_cell_count: int = typer.Option(None, "--min-cell-count",
                                       help="Raise the frozen minimum cell count (never lower it)."),
    allow_small_cells: bool = typer.Option(False, "--allow-small-cells",
                                           help="Accept a minimum cell count below 10 (recorded in the outputs)."),
    profile: str = typer.Option(None, "--profile", help="Run profile YAML (threads, memory_limit, spark_master)."),
    threads: int = typer.Option(None, "--threads", help="DuckDB threads / Spark cores (default: all).", min=1),
    source: str = typer.Option(None, "--source", help="pmsi, snds or omop (default: the frozen run's)."),
    engine: str = typer.Option(None, "--engine", help="duckdb or spark (default: the frozen run's engine)."),
    spark_master: str = typer.Option(None, "--spark-master", metavar="URL", help=_SPARK_MASTER_HELP),
    jobs: int = typer.Option(None, "--jobs", help=_JOBS_HELP, min=1),
) -> None:
    """Re-run a frozen study and verify every number: exit 0 identical, 1 differences, 2 refused.

    Prints the differences grouped by section and outcome (outcome / model / term / statistic: old ->
    new, relative change), and the package versions that differ from the lock's."""
    from cohortstat.run import rerun

    if engine is not None and engine not in ("duckdb", "spark"):
        _fail(ValueError(f"--engine must be duckdb or spark, got {engine!r}"))
    cb, stop = _run_progress()
    try:
        prof = _profile_options(profile, threads, None, spark_master, jobs)
        report = rerun(out, data, out2=out2, allow_data_change=allow_data_change, progress=cb, force=force,
                       min_cell_count=min_cell_count, allow_small_cells=allow_small_cells, profile=prof,
                       source=source, engine=engine)
    except CohortstatError as exc:
        stop()
        _fail(exc)
    except KeyboardInterrupt as exc:
        _interrupted(exc, stop)
    except OSError as exc:  # disk full, permissions changed during the run: the run cleaned up first
        stop()
        _fail(f"{exc.strerror or exc}: {exc.filename or ''}; nothing was written")
    stop()
    typer.echo(report.text())
    if report.differences:
        raise typer.Exit(1)



from cohortstat.sites.cli import register as _register_sites  # noqa: E402  (multi-site commands)

_register_sites(app)


def _plain_warnings() -> None:
    """Show cohortstat's own warnings on the console as one plain line ("warning: ..."), not in Python's
    format with a file name and a source line; other libraries' warnings keep the default format."""
    import warnings

    from cohortstat.errors import CohortstatWarning

    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CohortstatWarning):
            typer.echo(f"warning: {message}", err=True)
        else:
            default(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def main() -> None:
    """Entry point of the console script."""
    _plain_warnings()
    try:
        app()
    except CohortstatError as exc:  # typed errors: message, no traceback
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt as exc:  # outside a run's own handling (click turns most into exit 1)
        typer.echo("error: interrupted", err=True)
        sys.exit(getattr(exc, "exit_code", 130))
