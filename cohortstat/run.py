"""A study run end to end, and its verification: ``run`` and ``rerun``.

``run`` loads the spec, checks the data, builds the cohort, runs the analyses and writes the report. All
outputs go to a temporary folder beside ``out``; it is renamed to ``out`` only when every file is
written and the disclosure scan passed. An interrupted or failed run (exception, ``KeyboardInterrupt``)
removes the temporary folder and leaves no ``out``; an existing ``out`` is replaced only with ``force``.

``rerun`` reads ``study.lock.json`` of a finished run, checks the data fingerprint, re-runs the frozen
study into a new folder and compares every number of ``results.json``: integers and strings exactly,
floats to a relative tolerance of :data:`RERUN_RTOL` (float noise from summation order across engines
and BLAS; every estimate printed in the report has at most 3-4 significant digits, far above it).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from cohortstat.errors import DataSchemaError, ReportError, RerunMismatchError

__all__ = ["RERUN_RTOL", "RerunReport", "compare_results", "data_fingerprint", "rerun", "run", "write_report"]

from cohortstat.report.writer import write_report  # noqa: E402  (public re-export)

#: Relative tolerance of a float in a rerun comparison (absolute below 1e-12).
RERUN_RTOL = 1e-9
TABLES = ("patients", "stays", "diagnoses")


def data_fingerprint(data, source: str | None = None) -> dict:
    """Per input table: row count and an order-independent content hash computed in DuckDB.

    The hash is the sum over rows of DuckDB's 64-bit ``hash`` of the whole row (as a struct), so it does
    not depend on row order or on how the rows are split across parquet files; it does depend on the
    DuckDB version (recorded in the lock). Any layout (``source``; detected when None): see
    :func:`cohortstat.sources.provenance.fingerprint`.
    """
    from cohortstat.sources.provenance import fingerprint  # [sources] layout-aware fingerprint

    return fingerprint(data, source)


class _Log:
    """run.log lines (kept for the output folder) echoed to the progress callback."""

    def __init__(self, progress: Callable[[str], None] | None):
        self.lines: list[str] = []
        self.progress = progress
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.timings: dict[str, float] = {}
        self.step = None

    def __call__(self, message: str) -> None:
        now = time.perf_counter()
        if self.step is not None:
            self.timings[self.step] = self.timings.get(self.step, 0.0) + now - self.last
        self.step, self.last = message.split(":")[0], now
        self.lines.append(f"{now - self.t0:9.2f}s {message}")
        logging.getLogger("cohortstat.run").info(message)
        if self.progress is not None:
            self.progress(message)

    def close(self) -> None:
        self("done")


def _identifiers(data, source: str | None = None) -> list[str]:
    """The patient ids of the input data (strings), searched for in every output file."""
    from cohortstat.sources.provenance import identifiers  # [sources] any layout

    return identifiers(data, source)


def _checks_rows(report) -> list[dict]:
    rows = []
    for c in getattr(report, "rows", None) or getattr(report, "checks", ()):
        rows.append({"name": c.name, "table": c.table, "count": int(c.count), "severity": c.severity,
                     "description": getattr(c, "description", "")})
    return rows


def run(study_path, data, out, engine: str = "duckdb", min_cell_count: int = 10, force: bool = False,
        progress: Callable[[str], None] | None = None, threads: int | None = None, study=None,
        source: str | None = None) -> Path:
    """Run a study end to end and write its report folder.

    Parameters
    ----------
    study_path : path or None
        The study YAML (or a folder / file ``study.lock.json``); ignored when ``study`` is given.
    data : path
        Folder with patients.parquet, stays.parquet, diagnoses.parquet.
    out : path
        The report folder (must not exist unless ``force``).
    engine : {"duckdb", "spark"}
    min_cell_count : int, default 10
    force : bool
    progress : callable, optional
        Receives a message before every step; an exception it raises aborts the run cleanly.
    threads : int, optional
    study : Study, optional
        An already loaded study.
    source : {"pmsi", "snds", "omop"}, optional
        The data layout; detected from the folder's contents when None.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    from cohortstat.analysis import analyze
    from cohortstat.cohort import build_cohort
    from cohortstat.report.html import software_versions
    from cohortstat.report.suppression import scan_outputs
    from cohortstat.report.writer import build_outputs, make_temp, publish
    from cohortstat.spec import load_study, spec_hash
    from cohortstat.spec.freeze import lock_data

    out = Path(out)
    if out.exists() and not force:
        raise ReportError(f"{out} exists; choose another --out or pass --force to replace it")
    if int(min_cell_count) < 1:
        raise ReportError(f"--min-cell-count must be >= 1, got {min_cell_count}")
    log = _Log(progress)
    log("load study")
    if study is None:
        p = Path(study_path)
        if p.is_dir() or p.name.endswith(".lock.json"):
            from cohortstat.spec import load_lock

            study = load_lock(p)
        else:
            study = load_study(p)
    from cohortstat.sources import resolve_source  # [sources]

    source = resolve_source(data, source)  # [sources] detected once, recorded in the lock
    log(f"data fingerprint ({source} layout)")
    fingerprint = data_fingerprint(data, source)
    log("data checks")
    try:
        from cohortstat.data.checks import check_data
    except ImportError:  # the data-check module is part of the data package; absent in a partial install
        check_rows, check_note = [], "data checks unavailable (cohortstat.data.checks not installed)"
    else:
        check_rows, check_note = _checks_rows(check_data(data, strict=False, source=source, study=study)), None
    log("build cohort")
    cohort = build_cohort(study, data=data, engine=engine, threads=threads, source=source)
    log("analyses")
    results = analyze(study, cohort, progress=log)
    log("write report")
    versions = software_versions()
    provenance = {
        "spec_hash": spec_hash(study),
        "data_fingerprint": fingerprint,
        "engine": engine,
        "source": source,  # [sources]
        "seed": study.analyses.confounding.seed,
        "versions": versions,
        "min_cell_count": int(min_cell_count),
    }
    if check_note:
        provenance["note"] = check_note
    tmp = make_temp(out)
    try:
        build_outputs(results, tmp, min_cell_count, provenance, check_rows)
        lock = lock_data(study, {"data_fingerprint": fingerprint, "engine": engine, "source": source,
                                 "seed": study.analyses.confounding.seed, "versions": versions,
                                 "min_cell_count": int(min_cell_count)})
        (tmp / "study.lock.json").write_text(
            json.dumps(lock, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
        )
        log("disclosure scan")
        problems = scan_outputs(tmp, min_cell_count, identifiers=_identifiers(data, source))
        if problems:
            raise ReportError("the disclosure check failed; nothing was written:\n"
                              + "\n".join(f"  - {p}" for p in problems[:20]))
        log.close()
        timing = "\n".join(f"step {k}: {v:.2f}s" for k, v in log.timings.items())
        (tmp / "run.log").write_text("\n".join(log.lines) + "\n" + timing + "\n", encoding="utf-8")
        publish(tmp, out, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# ------------------------------------------------------------------------------------------- rerun


class RerunReport:
    """Outcome of :func:`rerun`: ``differences`` (readable lines), ``exit_code`` (0 same, 1 differ)."""

    def __init__(self, out: Path, differences: list[str]):
        self.out = out
        self.differences = differences
        self.exit_code = 0 if not differences else 1

    def __repr__(self) -> str:
        return f"RerunReport(out={self.out}, differences={len(self.differences)})"


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=RERUN_RTOL, abs_tol=1e-12)
    return a == b


def compare_results(old, new, path: str = "") -> list[str]:
    """Every difference between two ``results.json`` documents, as ``path: old -> new`` lines."""
    diffs: list[str] = []
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key == "provenance":
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


def rerun(out, data, out2=None, allow_data_change: bool = False, engine: str | None = None,
          progress: Callable[[str], None] | None = None, source: str | None = None) -> RerunReport:
    """Re-run the frozen study of a report folder and compare every number of ``results.json``.

    Raises
    ------
    RerunMismatchError
        When the data fingerprint differs from the lock and ``allow_data_change`` is False.
    ReportError
        When ``out`` is not a finished report folder.
    """
    from cohortstat.spec import load_lock

    out = Path(out)
    lock_path, res_path = out / "study.lock.json", out / "results.json"
    if not lock_path.is_file() or not res_path.is_file():
        raise ReportError(f"{out} is not a cohortstat report folder (no study.lock.json / results.json)")
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    study = load_lock(lock_path)
    source = source or lock.get("source")  # [sources] the frozen run's layout unless given
    fp = data_fingerprint(data, source)
    if fp != lock.get("data_fingerprint") and not allow_data_change:
        frozen = lock.get("data_fingerprint") or {}
        changed = [t for t in sorted(set(fp) | set(frozen)) if fp.get(t) != frozen.get(t)]
        raise RerunMismatchError(
            f"the data differ from the frozen run (tables: {', '.join(changed)}); point --data at the data of the"
            " original run, or pass --allow-data-change to compare anyway"
        )
    target = Path(out2) if out2 is not None else out.with_name(out.name + ".rerun")
    run(None, data, target, engine=engine or lock.get("engine", "duckdb"),
        min_cell_count=int(lock.get("min_cell_count", 10)), force=out2 is None, progress=progress, study=study,
        source=source)
    old = json.loads(res_path.read_text(encoding="utf-8"))
    new = json.loads((target / "results.json").read_text(encoding="utf-8"))
    return RerunReport(target, compare_results(old, new))
