"""``write_report(results, out=...)``: suppressed tables, results.json, figures and report.html.

Every number comes from :func:`cohortstat.report.published.publish_data` (one disclosure ledger for
all outputs); text cells of the CSV files are neutralised against spreadsheet formulas.

Everything is first written to a temporary folder beside ``out``; the disclosure scan
(:func:`cohortstat.report.suppression.scan_outputs`) reads every file back, and only a clean folder is
renamed to ``out``. An existing ``out`` is replaced only with ``force=True``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from cohortstat.constants import MODEL_LABELS
from cohortstat.errors import ReportError
from cohortstat.report import figures
from cohortstat.report.published import publish_data
from cohortstat.report.safe_text import clean_tree, csv_cell
from cohortstat.report.suppression import scan_outputs

__all__ = ["MODEL_LABELS", "build_outputs", "published_estimates", "suppress_results", "write_report", "publish"]


def suppress_results(results, min_cell_count: int = 10) -> dict:
    """Every number of the report as published: small counts, their complements and every statistic
    derived from them suppressed (see :mod:`cohortstat.report.protect`)."""
    return publish_data(results, min_cell_count)[0]


def _json_value(v):
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(float(v)) else None
    return v


def published_estimates(results, protected) -> list[dict]:
    """The estimates table (:meth:`StudyResults.estimates`) as published: ``events_exposed`` and
    ``events_reference`` shown through the report's disclosure ledger (a suppressed count shows
    ``"<k"``, a count hidden because it would reveal one shows ``"*"``); NaN becomes None. Rows are
    ordered by analysis (``main`` first, then variants by name), then outcome name, then model order."""
    from cohortstat.analysis.estimates import model_kind
    from cohortstat.report.diagnostics import hide_sir_estimate, sir_key
    from cohortstat.report.protect import effect_key

    names = {}
    for analysis, res in (("main", results), *getattr(results, "variants", ())):
        for o in (*res.outcomes, *getattr(res, "controls", ())):
            for m in dict.fromkeys(o.models["model"]) if len(o.models) else ():
                kind, adjustment, _ = model_kind(m, res.confounding_method)
                names[(analysis, o.name, kind, adjustment)] = m
    rows = []
    for r in results.estimates().to_dict("records"):
        if r["estimate_type"] == "sir":
            m = sir_key(r["term"])  # cohortstat.report.diagnostics
        elif r["term"] in ("interaction", "heterogeneity"):
            m = None  # a test row: no counts
        elif r["subgroup"] or r["period"]:
            m = effect_key(r)
        else:
            m = names.get((r["analysis"], r["outcome"], r["model"], r["adjustment"]))
        keys = protected.ctx.group_events.get((r["analysis"], r["outcome"], m))
        row = {c: _json_value(v) for c, v in r.items()}
        for c, key in zip(("events_exposed", "events_reference"), keys[1] if keys else (None, None)):
            row[c] = protected.show(key) if key is not None else None
        if r["estimate_type"] == "sir":
            hide_sir_estimate(row, keys, protected)  # SIR x expected = observed
        rows.append(row)
    # a canonical order: a rerun from the lock (whose mappings are sorted by name) writes the same file
    rows.sort(key=lambda r: (r["analysis"] != "main", r["analysis"], r["outcome"]))
    return clean_tree(rows)


def _csv(records: list[dict], path: Path) -> None:
    """Records to CSV: integers kept as integers, text neutralised against spreadsheet formulas."""
    columns = list(dict.fromkeys(c for r in records for c in r))
    frame = pd.DataFrame({csv_cell(c): pd.Series([csv_cell(r.get(c)) for r in records], dtype=object)
                          for c in columns})
    frame.to_csv(path, index=False)


def _estimates_csv(rows: list[dict], path: Path) -> None:
    from cohortstat.constants import ESTIMATE_COLUMNS

    if rows:
        _csv(rows, path)
    else:
        pd.DataFrame(columns=list(ESTIMATE_COLUMNS)).to_csv(path, index=False)


def _tables(data: dict, folder: Path) -> list[dict]:
    _csv(data["attrition"], folder / "attrition.csv")
    _csv(data["table_one"], folder / "tables" / "table1.csv")
    rate_rows, model_rows, ph_rows, analysed_rows = [], [], [], []
    for name, o in data["outcomes"].items():
        rate_rows += [{"outcome": name, **r} for r in o["rates"]]
        ar = o.get("analysed_rates")
        analysed_rows += [{"outcome": name, "population": ar["population"], "estimand": ar["estimand"], **r}
                          for r in (ar["rows"] if ar else [])]
        model_rows += [{"outcome": name, **r} for r in o["models"]]
        ph_rows += [{"outcome": name, **r} for r in o["ph"]]
    _csv(rate_rows, folder / "tables" / "incidence.csv")
    if analysed_rows:  # the matched or weighted population of the adjusted models
        _csv(analysed_rows, folder / "tables" / "incidence_analysed.csv")
    _csv(model_rows, folder / "tables" / "hazard_ratios.csv")
    _csv(ph_rows, folder / "tables" / "ph_test.csv")
    if data["balance"]:
        _csv(data["balance"], folder / "tables" / "balance.csv")
    return model_rows


def _diagnostics(results, data: dict, protected, folder: Path) -> None:
    """SIRs and diagnostics: results.json ``diagnostics``, tables/sir.csv, tables/diagnostics.csv."""
    from cohortstat.report.diagnostics import diagnostics_rows, publish_diagnostics

    data["diagnostics"] = clean_tree(publish_diagnostics(protected, results))
    if data["diagnostics"]["sir"]:
        _csv(data["diagnostics"]["sir"], folder / "tables" / "sir.csv")
    rows = diagnostics_rows(data["diagnostics"])
    if rows:
        _csv(rows, folder / "tables" / "diagnostics.csv")


def build_outputs(results, folder: Path, min_cell_count: int, provenance: dict | None = None,
                  data_checks: list | None = None) -> dict:
    """Write every output file into ``folder`` (which must exist); return the published data."""
    from cohortstat.report.html import render_html

    k = int(min_cell_count)
    data, protected = publish_data(results, k, provenance=provenance, data_checks=list(data_checks or []))
    (folder / "tables").mkdir()
    (folder / "figures").mkdir()
    data["estimates"] = published_estimates(results, protected)
    model_rows = _tables(data, folder)
    _estimates_csv(data["estimates"], folder / "tables" / "estimates.csv")
    _diagnostics(results, data, protected, folder)
    _csv([r for o in data["outcomes"].values() for r in o.get("cif_fixed_times", [])],
         folder / "tables" / "cif_fixed_times.csv")
    rendered = figures.report_figures(results, data, protected, model_rows)
    svgs = {name: r.svg for name, r in rendered.items()}
    for name, r in rendered.items():
        (folder / "figures" / f"{name}.svg").write_text(r.svg, encoding="utf-8")
        (folder / "figures" / f"{name}.png").write_bytes(r.png)
    (folder / "results.json").write_text(
        json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    from cohortstat.report.html import publication_tables
    from cohortstat.report.xlsx import tables_html, write_xlsx

    tables = publication_tables(results, data)
    write_xlsx(tables, folder / "tables" / "tables.xlsx")
    (folder / "tables" / "tables.html").write_text(tables_html(tables, results.study.title), encoding="utf-8")
    (folder / "report.html").write_text(render_html(results, data, svgs, tables), encoding="utf-8")
    return data


def publish(tmp: Path, out: Path, force: bool) -> None:
    """Move a finished temporary folder to ``out``: a marked ``out`` is replaced only when ``force``.

    The rules are those of :mod:`cohortstat.outputs` (a file, a link or a folder cohortstat did not
    write is never replaced).
    """
    from cohortstat.outputs import Staging

    Staging(out=Path(out), tmp=Path(tmp), force=force).publish()


def make_temp(out: Path, *, force: bool = False) -> Path:
    """An empty temporary folder beside ``out`` (same file system, so the final move is a rename).

    ``out`` is checked first (:func:`cohortstat.outputs.check_target`): a refused ``out`` or an
    unwritable parent raises :class:`~cohortstat.errors.ReportError` before anything is written.
    """
    from cohortstat.outputs import prepare

    return prepare(out, force=force).tmp


def write_report(results, out, min_cell_count: int = 10, *, force: bool = False, provenance: dict | None = None,
                 data_checks: list | None = None, extra_files: dict | None = None,
                 allow_small_cells: bool = False) -> Path:
    """Write the report of ``results`` to the folder ``out``.

    Parameters
    ----------
    results : cohortstat.analysis.StudyResults
    out : path
        Output folder; must not exist unless ``force``, and then only a folder cohortstat wrote
        (:mod:`cohortstat.outputs`).
    min_cell_count : int, default 10
        Counts in 1..min_cell_count-1 are shown as ``"<min_cell_count"``. Below 10 only with
        ``allow_small_cells``.
    force : bool
        Replace an existing report folder ``out``.
    provenance : dict, optional
        Spec hash, data fingerprint, versions (written by :func:`cohortstat.run.run`).
    data_checks : list of dict, optional
        Data-check rows (name, table, count, severity, description) for the limitations section.
    extra_files : dict, optional
        ``{relative name: text}`` written as well (``run.log``, ``study.lock.json``).
    allow_small_cells : bool, default False
        Accept a ``min_cell_count`` below 10 (:data:`cohortstat.outputs` rules do not change).

    Raises
    ------
    ReportError
        When ``out`` is refused, ``min_cell_count`` is too small, or the disclosure scan finds a problem
        (nothing is written).
    """
    from cohortstat import interrupts
    from cohortstat.outputs import prepare
    from cohortstat.outputs import check_min_cell_count

    out = Path(out)
    check_min_cell_count(min_cell_count, allow_small_cells=allow_small_cells)
    with interrupts.guard():
        with interrupts.deferred():
            staging = prepare(out, force=force)
        try:
            interrupts.raise_if_interrupted()
            build_outputs(results, staging.tmp, min_cell_count, provenance, data_checks)
            for name, text in (extra_files or {}).items():
                (staging.tmp / name).write_text(text, encoding="utf-8")
            problems = scan_outputs(staging.tmp, min_cell_count)
            if problems:
                raise ReportError(
                    "the disclosure check failed; nothing was written:\n" + "\n".join(f"  - {p}" for p in problems[:20])
                )
            staging.publish()
        except BaseException:
            staging.discard()
            raise
    return out
