"""A study run end to end, and its verification: ``run`` and ``rerun``.

``run`` loads the spec, checks the output folder, checks the data, builds the cohort, runs the analyses
and writes the report. The output folder is checked before anything else runs
(:mod:`cohortstat.outputs`: never the data folder or the study's folder, never a folder cohortstat did
not write, a writable parent); all outputs go to a temporary folder beside ``out``, renamed to ``out``
only when every file is written and the disclosure scan passed. An interrupted (SIGINT, SIGTERM:
:mod:`cohortstat.interrupts`) or failed run removes the temporary folder and leaves no ``out``.

Every data-check anomaly is printed through ``progress`` (the console of the command line) and logged
at WARNING level; with ``strict`` (``--strict`` or ``data_checks: {strict: true}`` in the study) a
check reporting an error stops the run with :class:`~cohortstat.errors.DataCheckError`.

``rerun`` reads ``study.lock.json`` of a finished run, checks the data fingerprint, re-runs the frozen
study into a new folder and compares every number of ``results.json``: integers and strings exactly,
floats to a relative tolerance of :data:`RERUN_RTOL` (float noise from summation order across engines
and BLAS; every estimate printed in the report has at most 3-4 significant digits, far above it).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from cohortstat import interrupts
from cohortstat.errors import DataCheckError, ReportError, RerunMismatchError
from cohortstat.outputs import Staging, check_min_cell_count, prepare
from cohortstat.sources import resolve_source

__all__ = ["RERUN_RTOL", "RerunReport", "compare_results", "data_fingerprint", "rerun", "run", "write_report"]

from cohortstat.report.writer import write_report  # noqa: E402  (public re-export)

#: Relative tolerance of a float in a rerun comparison (absolute below 1e-12).
RERUN_RTOL = 1e-9
TABLES = ("patients", "stays", "diagnoses")
_LOG = logging.getLogger("cohortstat.run")
# a library logs through handlers its user installs; without one, nothing falls back to stderr (the
# progress callback already shows every message once)
logging.getLogger("cohortstat").addHandler(logging.NullHandler())


def data_fingerprint(data, source: str | None = None) -> dict:
    """Per input table: row count and an order-independent content hash computed in DuckDB.

    The hash is the sum over rows of DuckDB's 64-bit ``hash`` of the whole row (as a struct), so it does
    not depend on row order or on how the rows are split across parquet files; it does depend on the
    DuckDB version (recorded in the lock). Any layout (``source``; detected when None): see
    :func:`cohortstat.sources.provenance.fingerprint`.
    """
    from cohortstat.sources.provenance import fingerprint

    return fingerprint(data, source)


class _Log:
    """run.log lines (kept for the output folder) echoed to the progress callback.

    Every step boundary first checks for a signal received meanwhile (:mod:`cohortstat.interrupts`),
    then runs ``checks`` (a variant failed in a worker process: :meth:`VariantWorkers.check`).
    """

    def __init__(self, progress: Callable[[str], None] | None):
        self.lines: list[str] = []
        self.progress = progress
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.timings: dict[str, float] = {}
        self.step = None
        #: called at every step boundary (worker processes report a failed variant through it)
        self.checks: list[Callable[[], None]] = []

    def __call__(self, message: str) -> None:
        interrupts.raise_if_interrupted()
        for check in self.checks:
            check()
        now = time.perf_counter()
        if self.step is not None:
            self.timings[self.step] = self.timings.get(self.step, 0.0) + now - self.last
        self.step, self.last = message.split(":")[0], now
        self.lines.append(f"{now - self.t0:9.2f}s {message}")
        _LOG.info(message)
        if self.progress is not None:
            self.progress(message)

    def console(self, message: str, level: int = logging.WARNING) -> None:
        """A message for the person running the study only: progress and logging, not run.log."""
        _LOG.log(level, message)
        if self.progress is not None:
            self.progress(message)

    def close(self) -> None:
        self("done")


def _identifiers(data, source: str | None = None):
    """The patient ids of the input data, searched for in every output file (a DuckDB join, not a list)."""
    from cohortstat.sources.provenance import identifier_matcher

    return identifier_matcher(data, source)


def _checks_rows(report) -> list[dict]:
    rows = []
    for c in getattr(report, "rows", None) or getattr(report, "checks", ()):
        rows.append({"name": c.name, "table": c.table, "count": int(c.count), "severity": c.severity,
                     "description": getattr(c, "description", "")})
    return rows


@dataclass
class _Run:
    """The settings and state of one run, passed from step to step."""

    study: object
    data: Path
    engine: str
    threads: int | None
    memory_limit: str | None
    min_cell_count: int
    small_cells_override: bool
    strict: bool
    log: _Log
    staging: Staging
    fingerprint: dict = field(default_factory=dict)
    check_rows: list = field(default_factory=list)
    check_note: str | None = None
    site: str | None = None
    source: str | None = None
    spark_master: str | None = None
    jobs: int = 1

    @property
    def build_settings(self):
        from cohortstat.variant_workers import BuildSettings

        return BuildSettings(data=self.data, engine=self.engine, threads=self.threads, source=self.source,
                             memory_limit=self.memory_limit, spark_master=self.spark_master)


def _settings(profile, engine, threads, min_cell_count, memory_limit, spark_master=None, jobs=None):
    """The run profile: explicit arguments over the profile over its defaults (validated)."""
    from cohortstat.spec.profile import RunProfile, load_profile

    from cohortstat.errors import SpecError

    try:
        base = profile if isinstance(profile, RunProfile) else load_profile(profile)
        given = {"engine": engine, "threads": threads, "min_cell_count": min_cell_count, "memory_limit": memory_limit,
                 "spark_master": spark_master, "jobs": jobs}
        merged = {**base.model_dump(), **{k: v for k, v in given.items() if v is not None}}
        return load_profile(merged)
    except SpecError as exc:
        raise ReportError("invalid run settings (command-line options or run profile): "
                          + "; ".join(f"{loc}: {msg}" if loc else msg for loc, msg in exc.errors)) from None


def _load(study_path, study):
    """The study and the folder of its file (None for a study given in Python)."""
    from cohortstat.spec import load_lock, load_study

    if study is not None:
        return study, None
    p = Path(study_path)
    if p.is_dir() or p.name.endswith(".lock.json"):
        return load_lock(p), (p if p.is_dir() else p.parent)
    return load_study(p), p.parent


def _data_checks(r: _Run) -> None:
    """Run the data checks, print every anomaly, stop on an error when strict."""
    try:
        from cohortstat.data.checks import check_data
    except ImportError:  # the data-check module is part of the data package; absent in a partial install
        r.check_note = "data checks unavailable (cohortstat.data.checks not installed)"
        r.log.console(r.check_note)
        return
    report = check_data(r.data, strict=False, source=r.source, study=r.study)
    r.check_rows = _checks_rows(report)
    found = [c for c in r.check_rows if c["count"] > 0]
    errors = [c for c in found if c["severity"] == "error"]
    for c in found:
        level = {"error": logging.ERROR, "warning": logging.WARNING}.get(c["severity"], logging.INFO)
        r.log.console(f"data check {c['severity'].upper()}: {c['name']} [{c['table']}]: {c['count']} - "
                      f"{c['description']}", level)
    if errors and r.strict:
        raise DataCheckError(
            f"the data in {r.data} failed {len(errors)} data check(s) with severity error ("
            + ", ".join(f"{c['name']} [{c['table']}]: {c['count']}" for c in errors)
            + "); the run is strict, nothing was written. Fix the data (`cohortstat check-data` lists examples)"
            " or run without --strict / data_checks.strict to report them as limitations instead",
            report=report,
        )
    if errors:
        r.log.console(f"data checks: {len(errors)} report errors, the results may be wrong; they are listed in"
                      " the report's limitations. Pass --strict to refuse such data.")


def _build(r: _Run, study=None):
    """The cohort of ``study`` (default: the run's), with the profile's threads, memory limit, Spark master."""
    from cohortstat.variant_workers import build_study_cohort

    return build_study_cohort(study or r.study, r.build_settings)


def _workers(r: _Run):
    """Worker processes for the variants with their own cohort (``jobs`` >= 2, DuckDB), else a no-op."""
    from contextlib import nullcontext

    from cohortstat.spec.variants import only_analyses_differ, resolve_variant
    from cohortstat.variant_workers import VariantWorkers

    if r.jobs < 2 or not r.study.sensitivity:
        return nullcontext(None)
    if r.engine != "duckdb":
        r.log.console(f"jobs: {r.jobs} applies to the DuckDB engine only; the sensitivity variants run one after "
                      "the other", logging.INFO)
        return nullcontext(None)
    own = [n for n in r.study.sensitivity if not only_analyses_differ(r.study, resolve_variant(r.study, n))]
    if not own:
        return nullcontext(None)
    workers = min(r.jobs - 1, len(own))
    r.log(f"sensitivity {', '.join(own)}: own cohorts, built and analysed in {workers} worker process(es)")
    return VariantWorkers(r.study, own, r.build_settings, workers=workers)


def _collected(r: _Run, workers, name: str):
    """The results of variant ``name`` from its worker; its progress lines go into run.log."""
    r.log(f"sensitivity {name}: results from its worker process")
    results, lines = workers.result(name)
    r.log.lines.extend(f"{'':10} worker {line.strip()}" for line in lines)
    return results


def _write(r: _Run, results, cohort) -> None:
    """Every output file into the temporary folder, the lock, the disclosure scan, run.log."""
    from cohortstat.report.html import software_versions
    from cohortstat.report.published import public_fingerprint
    from cohortstat.report.suppression import scan_outputs
    from cohortstat.report.writer import build_outputs
    from cohortstat.spec import spec_hash
    from cohortstat.spec.freeze import lock_data

    study, k, tmp = r.study, r.min_cell_count, r.staging.tmp
    versions = software_versions()
    run_info = {"data_fingerprint": r.fingerprint, "engine": r.engine, "source": r.source,
                "seed": study.analyses.confounding.seed, "versions": versions, "min_cell_count": k}
    if r.small_cells_override:
        run_info["small_cells_override"] = True
    provenance = {"spec_hash": spec_hash(study), **run_info}
    if r.check_note:
        provenance["note"] = r.check_note
    build_outputs(results, tmp, k, provenance, r.check_rows)
    # the lock is published too: a table of 1..k-1 rows shows "<k" (its content hash still identifies it)
    lock = lock_data(study, {**run_info, "data_fingerprint": public_fingerprint(r.fingerprint, k)})
    (tmp / "study.lock.json").write_text(
        json.dumps(lock, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    r.log("disclosure scan")
    _write_log(r)  # before the scan, so that run.log is scanned like every other output
    identifiers = _identifiers(r.data, r.source)
    problems = scan_outputs(tmp, k, identifiers=identifiers)
    if problems:
        raise ReportError("the disclosure check failed; nothing was written:\n"
                          + "\n".join(f"  - {p}" for p in problems[:20]))
    if r.site is not None:  # multi-site: the package that may leave the site (cohortstat.sites)
        from cohortstat.sites.package import add_site_outputs

        add_site_outputs(tmp, r.site, study, cohort, k, identifiers=identifiers)


def _write_log(r: _Run) -> None:
    """run.log: every step with its start time, then the time each finished step took."""
    r.log.close()
    timing = "\n".join(f"step {name}: {v:.2f}s" for name, v in r.log.timings.items())
    (r.staging.tmp / "run.log").write_text("\n".join(r.log.lines) + "\n" + timing + "\n", encoding="utf-8")


def _steps(r: _Run) -> None:
    """Fingerprint, data checks, cohort, analyses, report files (into the temporary folder)."""
    if r.small_cells_override:
        r.log(f"small-cell override: min_cell_count {r.min_cell_count} (below 10) accepted with --allow-small-cells")
    r.log(f"data fingerprint: {r.source} layout")
    r.fingerprint = data_fingerprint(r.data, r.source)
    r.log("data checks")
    _data_checks(r)
    with _workers(r) as workers:  # variants with their own cohort, beside the main analysis (jobs >= 2)
        if workers is not None:
            r.log.checks.append(workers.check)
        try:
            cohort, results = _main_and_variants(r, workers)
        finally:
            r.log.checks.clear()
    r.log("write report")
    _write(r, results, cohort)


def _main_and_variants(r: _Run, workers):
    """The main cohort and analyses, then the sensitivity variants: ``(cohort, results)``."""
    from cohortstat.analysis import analyze, analyze_variants
    from cohortstat.analysis.fit_cache import reuse_fits

    r.log("build cohort")
    cohort = _build(r)
    r.log("analyses")
    with reuse_fits():  # fits identical to the main analysis's are not repeated by the variants
        results = analyze(r.study, cohort, progress=r.log)
        if r.study.sensitivity:  # sensitivity variants: the main cohort reused when only analyses differ
            elsewhere = {n: partial(_collected, r, workers, n) for n in (workers.names if workers else ())}
            results = analyze_variants(r.study, results, cohort, build=lambda s: _build(r, s),
                                       progress=r.log, elsewhere=elsewhere)
    return cohort, results


def _query_interrupted(exc: BaseException) -> int | None:
    """SIGINT when ``exc`` is DuckDB's report of a query it stopped on Ctrl-C (its handler ran, not ours)."""
    import signal

    name = type(exc).__name__
    if name == "InterruptException" or (isinstance(exc, RuntimeError) and "Query interrupted" in str(exc)):
        return int(signal.SIGINT)
    return None


def run(study_path, data, out, engine: str | None = None, min_cell_count: int | None = None, force: bool = False,
        progress: Callable[[str], None] | None = None, threads: int | None = None, study=None, *,
        strict: bool | None = None, allow_small_cells: bool = False, profile=None, memory_limit: str | None = None,
        protected: tuple = (), site: str | None = None, source: str | None = None,
        spark_master: str | None = None, jobs: int | None = None) -> Path:
    """Run a study end to end and write its report folder.

    Parameters
    ----------
    study_path : path or None
        The study YAML (or a folder / file ``study.lock.json``); ignored when ``study`` is given.
    data : path
        Folder with patients.parquet, stays.parquet, diagnoses.parquet.
    out : path
        The report folder: must not exist unless ``force``, and then only a folder cohortstat wrote; may
        not be, contain or lie inside ``data`` or the study file's folder (:mod:`cohortstat.outputs`).
    engine : {"duckdb", "spark"}, optional
        Default: the profile's (duckdb).
    min_cell_count : int, optional
        Default: the profile's (10). Below 10 only with ``allow_small_cells``.
    force : bool
    progress : callable, optional
        Receives a message before every step and every data-check anomaly; an exception it raises aborts
        the run cleanly.
    threads : int, optional
        DuckDB threads / Spark cores; default: the profile's (all cores).
    study : Study, optional
        An already loaded study.
    strict : bool, optional
        Refuse to run when a data check reports an error; default: the study's ``data_checks.strict``.
    allow_small_cells : bool
        Accept a ``min_cell_count`` below 10 (recorded in run.log, results.json and the lock).
    profile : RunProfile, path or mapping, optional
        Execution settings (:class:`cohortstat.spec.RunProfile`); explicit arguments win over it.
    memory_limit : str, optional
        DuckDB memory limit (``8GB``); default: the profile's (the engine's default).
    protected : tuple of (str, path)
        Further folders ``out`` may not touch (``rerun`` protects the report it verifies).
    site : str, optional
        Site name of a multi-site study: also write ``site_package/`` (see :mod:`cohortstat.sites`).
    source : {"pmsi", "snds", "omop"}, optional
        The data layout; detected from the folder's contents when None (recorded in the lock).
    spark_master : str, optional
        Spark engine: ``local[N]``, ``local[*]``, ``local-cluster[W,C,MB]`` or ``spark://host:port``;
        default: the profile's (``local[threads]``). A run setting: not in the lock, no effect on results.
    jobs : int, optional
        Processes; with 2 or more, the sensitivity variants that need their own cohort are built and
        analysed in ``jobs - 1`` worker processes beside the main analysis (DuckDB; peak memory adds up
        across processes). Default: the profile's (1). A run setting: no effect on results.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    SpecError, ReportError, DataSchemaError, DataCheckError, CohortError
        Bad study, refused output folder, bad data; nothing is written.
    cohortstat.interrupts.RunInterrupted
        SIGINT or SIGTERM during the run; nothing is written.
    """
    from cohortstat.models._kernels._jit import compile_notice

    prof = _settings(profile, engine, threads, min_cell_count, memory_limit, spark_master, jobs)
    k = check_min_cell_count(prof.min_cell_count, allow_small_cells=allow_small_cells)
    log = _Log(progress)
    log("load study")
    study, study_dir = _load(study_path, study)
    if site is not None:
        from cohortstat.sites.package import check_poolable

        check_poolable(study)  # before any data is read
    guarded = (("the data folder", Path(data)), ("the folder of the study file", study_dir), *protected)
    with interrupts.guard():
        with interrupts.deferred():  # a signal here is recorded and acted on at the first step
            staging = prepare(out, force=force, protected=guarded)
        try:
            r = _Run(study=study, data=Path(data), engine=prof.engine, threads=prof.threads,
                     memory_limit=prof.memory_limit, min_cell_count=k, small_cells_override=k < 10,
                     strict=bool(study.data_checks.strict if strict is None else strict), log=log, staging=staging,
                     site=site, source=resolve_source(data, source), spark_master=prof.spark_master,
                     jobs=prof.jobs)
            with compile_notice(lambda message: log.console(message, logging.INFO)):
                _steps(r)
            staging.publish()
        except BaseException as exc:
            staging.discard()
            signum = interrupts.interrupted() or _query_interrupted(exc)
            if signum is not None and not isinstance(exc, interrupts.RunInterrupted):
                raise interrupts.RunInterrupted(signum) from exc
            raise
    return Path(out)


# ------------------------------------------------------------------------------------------- rerun


class RerunReport:
    """Outcome of :func:`rerun`: ``differences`` (readable lines), ``exit_code`` (0 same, 1 differ).

    ``diffs`` are the :class:`cohortstat.rerun_diff.Difference` rows (outcome, model, term, statistic, old,
    new), ``drift`` the package versions that differ between the lock and this environment; :meth:`text`
    is the reviewer's summary the command line prints.
    """

    def __init__(self, out: Path, differences: list[str], diffs: list | None = None, drift: list | None = None,
                 original: Path | None = None):
        self.out = out
        self.differences = differences
        self.diffs = list(diffs or [])
        self.drift = list(drift or [])
        self.original = original
        self.exit_code = 0 if not differences else 1

    def text(self) -> str:
        """The differences grouped by section and outcome (or ``identical``), with the version drift."""
        from cohortstat.rerun_diff import render

        return render(self.diffs, drift=self.drift, old_name=f"original run ({self.original})" if self.original
                      else "original run", new_name=f"rerun ({self.out})")

    def __repr__(self) -> str:
        return f"RerunReport(out={self.out}, differences={len(self.differences)})"


def _same(a, b) -> bool:
    from cohortstat.rerun_diff import _same as same

    return same(a, b, RERUN_RTOL)


def compare_results(old, new, path: str = "") -> list[str]:
    """Every difference between two ``results.json`` documents, as ``path: old -> new`` lines.

    ``provenance`` and the top-level ``engine`` (which engine ran, not a result) are not compared: a rerun
    on another engine that reproduces every number is identical.
    """
    diffs: list[str] = []
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key == "provenance" or (key == "engine" and not path):  # how, not what: an engine change is no diff
                continue
            where = f"{path}.{key}" if path else key
            if key not in new:
                diffs.append(f"{where}: missing in the rerun")
            elif key not in old:
                diffs.append(f"{where}: new in the rerun")
            else:
                diffs += compare_results(old[key], new[key], where)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            diffs.append(f"{path}: {len(old)} items -> {len(new)} items")
        for i, (a, b) in enumerate(zip(old, new)):
            diffs += compare_results(a, b, f"{path}[{i}]")
    elif not _same(old, new):
        diffs.append(f"{path}: {old!r} -> {new!r}")
    return diffs


def _read_json(path: Path, what: str):
    try:
        with path.open("rb") as fh:
            raw = fh.read(200_000_001)
        if len(raw) > 200_000_000:
            raise ReportError(f"{path} is larger than 200 MB; it is not the {what} of a cohortstat report folder")
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ReportError(f"{path} is not valid JSON ({reason}); it is not the {what} cohortstat wrote: restore it"
                          " from the original run") from None
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None


def _frozen_min_cell_count(lock, results, where: Path) -> int:
    """The minimum cell count of the frozen run: the larger of the lock's and results.json's."""
    values = []
    for doc in (lock, results):
        v = doc.get("min_cell_count") if isinstance(doc, dict) else None
        if v is None and isinstance(doc, dict):
            v = (doc.get("provenance") or {}).get("min_cell_count")
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ReportError(f"{where}: min_cell_count {v!r} is not a whole number >= 1; the report folder"
                                  " was edited: restore it from the original run")
            values.append(v)
    return max(values) if values else 10


def rerun(out, data, out2=None, allow_data_change: bool = False, engine: str | None = None,
          progress: Callable[[str], None] | None = None, *, force: bool = False, min_cell_count: int | None = None,
          allow_small_cells: bool = False, profile=None, threads: int | None = None,
          source: str | None = None, spark_master: str | None = None) -> RerunReport:
    """Re-run the frozen study of a report folder and compare every number of ``results.json``.

    The rerun is written to ``out2`` (default ``OUT.rerun`` beside ``out``) under the rules of
    :mod:`cohortstat.outputs`: an existing folder is replaced only with ``force`` and only when cohortstat
    wrote it. The minimum cell count is the frozen run's (the larger of the lock's and results.json's);
    ``min_cell_count`` may raise it, never lower it, and a count below 10 needs ``allow_small_cells``
    here too (an edited lock cannot lower it silently).

    Raises
    ------
    RerunMismatchError
        When the data fingerprint differs from the lock and ``allow_data_change`` is False.
    ReportError
        When ``out`` is not a finished report folder (files missing or not JSON), the minimum cell count
        is refused, or the rerun folder is refused.
    """
    from cohortstat.spec import load_lock

    out = Path(out)
    lock_path, res_path = out / "study.lock.json", out / "results.json"
    if not lock_path.is_file() or not res_path.is_file():
        raise ReportError(f"{out} is not a cohortstat report folder (no study.lock.json / results.json)")
    lock, old = _read_json(lock_path, "study lock"), _read_json(res_path, "results")
    frozen = _frozen_min_cell_count(lock, old, out)
    k = check_min_cell_count(frozen if min_cell_count is None else min_cell_count,
                             allow_small_cells=allow_small_cells, frozen=frozen)
    study = load_lock(lock_path)
    source = source or lock.get("source")  # the frozen run's layout unless given
    from cohortstat.report.published import public_fingerprint

    # the lock holds the public form of the fingerprint (small row counts shown as "<k")
    fp = public_fingerprint(data_fingerprint(data, source), int(lock.get("min_cell_count", k)))
    if fp != lock.get("data_fingerprint") and not allow_data_change:
        frozen_fp = lock.get("data_fingerprint") or {}
        changed = [t for t in sorted(set(fp) | set(frozen_fp)) if fp.get(t) != frozen_fp.get(t)]
        raise RerunMismatchError(
            f"the data differ from the frozen run (tables: {', '.join(changed)}); point --data at the data of the"
            " original run, or pass --allow-data-change to compare anyway"
        )
    target = Path(out2) if out2 is not None else out.with_name(out.name + ".rerun")
    run(None, data, target, engine=engine or lock.get("engine", "duckdb"), min_cell_count=k, force=force,
        progress=progress, study=study, allow_small_cells=allow_small_cells, profile=profile, threads=threads,
        protected=(("the report folder being verified", out),), source=source, spark_master=spark_master)
    new = _read_json(target / "results.json", "results")
    from cohortstat.report.html import software_versions
    from cohortstat.rerun_diff import compare, version_drift

    drift = version_drift(lock.get("versions"), software_versions())
    return RerunReport(target, compare_results(old, new), compare(old, new, RERUN_RTOL), drift, original=out)
