"""``write_report(results, out=...)``: suppressed tables, results.json, figures and report.html.

Everything is first written to a temporary folder beside ``out``; the disclosure scan
(:func:`cohortstat.report.suppression.scan_outputs`) reads every file back, and only a clean folder is
renamed to ``out``. An existing ``out`` is replaced only with ``force=True``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from cohortstat.errors import ReportError
from cohortstat.report import figures
from cohortstat.report.suppression import (
    SECONDARY,
    scan_outputs,
    suppress_attrition,
    suppress_partition,
    suppress_value,
    suppressed_label,
)

__all__ = ["MODEL_LABELS", "build_outputs", "suppress_results", "write_report", "publish"]

MODEL_LABELS = {
    "cox_crude": "Cox, crude",
    "cox_adjusted": "Cox, adjusted",
    "cox_ps": "Cox, PS-adjusted",
    "fg_crude": "Fine-Gray, crude",
    "fg_adjusted": "Fine-Gray, adjusted",
    "fg_ps": "Fine-Gray, PS-adjusted",
}


def _records(df: pd.DataFrame | None) -> list[dict]:
    if df is None:
        return []
    out = []
    for row in df.to_dict("records"):
        out.append({str(k): _plain(v) for k, v in row.items()})
    return out


def _plain(v):
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def suppress_notes(notes, k: int) -> list[str]:
    """Notes with every stand-alone integer in 1..k-1 replaced by ``"<k"``."""
    label = suppressed_label(k)

    def sub(m):
        return label if 0 < int(m.group(0)) < k else m.group(0)

    return [re.sub(r"(?<![\w.])\d+(?![\w.])", sub, str(n)) for n in notes]


def _suppress_table_one(t1: pd.DataFrame, groups, k: int) -> pd.DataFrame:
    t1 = t1.copy().astype(object)
    label = suppressed_label(k)
    for g in groups:
        for var, idx in t1.groupby("variable", sort=False).groups.items():
            rows = t1.loc[idx]
            if rows["kind"].iloc[0] != "categorical":
                if rows["kind"].iloc[0] == "n":
                    t1.loc[idx, f"n_{g}"] = [suppress_value(v, k) for v in rows[f"n_{g}"]]
                continue
            hide = suppress_partition([int(v) for v in rows[f"n_{g}"]], k)
            for i, h in zip(idx, hide):
                if h:
                    t1.at[i, f"n_{g}"] = label if 0 < int(t1.at[i, f"n_{g}"]) < k else SECONDARY
                    t1.at[i, f"pct_{g}"] = None
                else:
                    t1.at[i, f"n_{g}"] = int(t1.at[i, f"n_{g}"])
    return t1


def suppress_results(results, min_cell_count: int = 10) -> dict:
    """Every number of the report as plain data, small counts and their complements suppressed."""
    k = int(min_cell_count)
    groups = results.groups
    label = suppressed_label(k)
    study = results.study
    data: dict = {
        "title": study.title,
        "min_cell_count": k,
        "groups": list(groups),
        "labels": dict(results.labels),
        "engine": results.engine,
        "confounding_method": results.confounding_method,
        "attrition": _records(suppress_attrition(results.attrition, groups, k)),
        "table_one": _records(_suppress_table_one(results.table_one, groups, k)),
        "balance": _records(results.balance),
        "ps_coef": _records(results.ps_coef),
        # sorted: the order of notes follows the order of outcomes in the spec, which a lock may not keep
        "notes": sorted(suppress_notes(results.notes, k)),
        "outcomes": {},
    }
    final_n = {}
    att = results.attrition
    for g in groups:
        col = att[f"n_{g}"].dropna() if f"n_{g}" in att else []
        final_n[g] = int(col.iloc[-1]) if len(col) else None
    for o in results.outcomes:
        rates = o.rates.copy().astype(object)
        hidden_events = hidden_n = False
        for i in rates.index:
            g, n = rates.at[i, "group"], int(rates.at[i, "n"])
            # the patients left out of this outcome (prevalent cases) = final cohort n - outcome n
            left_out = None if final_n.get(g) is None or results.confounding_method == "matching" else final_n[g] - n
            for c in ("n", "events", "competing_events"):
                rates.at[i, c] = suppress_value(rates.at[i, c], k)
            if left_out is not None and 0 < left_out < k and not isinstance(rates.at[i, "n"], str):
                rates.at[i, "n"] = SECONDARY
            hidden_n = hidden_n or isinstance(rates.at[i, "n"], str)
            if rates.at[i, "events"] == label:
                hidden_events = True
                for c in ("rate", "rate_lower", "rate_upper"):
                    rates.at[i, c] = None
        models = o.models.copy().astype(object)
        for i in models.index:
            nn = suppress_value(models.at[i, "n"], k)
            models.at[i, "n"] = SECONDARY if hidden_n and not isinstance(nn, str) else nn
            ev = suppress_value(models.at[i, "n_events"], k)
            models.at[i, "n_events"] = SECONDARY if hidden_events and not isinstance(ev, str) else ev
        at_risk = o.at_risk.copy().astype(object)
        # an object column: a suppression mark ('<10', '*') may replace any count below
        at_risk["n_risk"] = pd.Series([suppress_value(v, k) for v in at_risk["n_risk"]], index=at_risk.index,
                                      dtype=object)
        # at year 0 every patient of the outcome is at risk: hide it with the outcome's patient count
        hidden_groups = {r["group"] for r in rates.to_dict("records") if isinstance(r["n"], str)}
        for i in at_risk.index:
            if at_risk.at[i, "year"] == 0 and at_risk.at[i, "group"] in hidden_groups:
                if not isinstance(at_risk.at[i, "n_risk"], str):
                    at_risk.at[i, "n_risk"] = SECONDARY
        cif_years = []
        for g in groups:
            c = o.cif.loc[o.cif["group"] == g].sort_values("time")
            for y in sorted(o.at_risk["year"].unique()):
                before = c.loc[(c["time"] <= y * 365.25) & (c["n_risk"] >= k)]
                est = float(before["estimate"].iloc[-1]) if len(before) else (0.0 if y == 0 else None)
                if y > 0 and not len(before):
                    est = None
                cif_years.append({"group": g, "year": int(y), "estimate": est})
        data["outcomes"][o.name] = {
            "label": o.label,
            "rates": _records(rates),
            "gray": {kk: _plain(v) for kk, v in o.gray.items()},
            "models": _records(models),
            "ph": _records(o.ph),
            "ph_violated": bool(o.ph_violated),
            "at_risk": _records(at_risk),
            "cif_by_year": cif_years,
            "notes": suppress_notes(o.notes, k),
        }
    return data


def _csv(records: list[dict], path: Path) -> None:
    """Records to CSV with integers kept as integers (object dtype: no float upcast around blanks)."""
    columns = list(dict.fromkeys(c for r in records for c in r))
    frame = pd.DataFrame({c: pd.Series([r.get(c) for r in records], dtype=object) for c in columns})
    frame.to_csv(path, index=False)


def build_outputs(results, folder: Path, min_cell_count: int, provenance: dict | None = None,
                  data_checks: list | None = None) -> dict:
    """Write every output file into ``folder`` (which must exist); return the suppressed data."""
    from cohortstat.report.html import render_html

    k = int(min_cell_count)
    data = suppress_results(results, k)
    if provenance:
        data["provenance"] = provenance
    checks = []
    for c in data_checks or []:
        c = dict(c)
        c["count"] = suppress_value(c.get("count"), k)
        c.pop("examples", None)  # example ids are patient/stay identifiers
        checks.append(c)
    data["data_checks"] = checks
    (folder / "tables").mkdir()
    (folder / "figures").mkdir()
    _csv(data["attrition"], folder / "attrition.csv")
    _csv(data["table_one"], folder / "tables" / "table1.csv")
    rate_rows, model_rows, ph_rows = [], [], []
    for name, o in data["outcomes"].items():
        rate_rows += [{"outcome": name, **r} for r in o["rates"]]
        model_rows += [{"outcome": name, **r} for r in o["models"]]
        ph_rows += [{"outcome": name, **r} for r in o["ph"]]
    _csv(rate_rows, folder / "tables" / "incidence.csv")
    _csv(model_rows, folder / "tables" / "hazard_ratios.csv")
    _csv(ph_rows, folder / "tables" / "ph_test.csv")
    if data["balance"]:
        _csv(data["balance"], folder / "tables" / "balance.csv")
    svgs: dict[str, str] = {}
    groups, labels = results.groups, results.labels
    svgs["attrition"] = figures.attrition_flow(pd.DataFrame(data["attrition"]), groups=groups, labels=labels)
    exp = pd.DataFrame([r for r in model_rows if r["term"] == "exposure"])
    if len(exp):
        exp = exp.astype({"hr": float, "ci_lower": float, "ci_upper": float})
        svgs["forest"] = figures.forest_plot(
            exp, outcome_labels={o.name: o.label for o in results.outcomes}, model_labels=MODEL_LABELS
        )
    for o in results.outcomes:
        svgs[f"cif_{o.name}"] = figures.cif_plot(
            o.cif, pd.DataFrame(data["outcomes"][o.name]["at_risk"]), groups=groups, labels=labels,
            title=f"{o.label}: cumulative incidence (death as competing event)", min_cell_count=k,
        )
    if results.balance is not None and len(results.balance):
        from cohortstat.report.figures_balance import love_plot

        svgs["balance"] = figures.inline_svg(love_plot(results.balance, after_label=results.confounding_method))
    if results.preference is not None and len(results.preference):
        from cohortstat.report.figures_balance import preference_plot

        svgs["preference"] = figures.inline_svg(preference_plot(_preference_shown(results.preference, k)))
    for name, svg in svgs.items():
        (folder / "figures" / f"{name}.svg").write_text(svg, encoding="utf-8")
    (folder / "results.json").write_text(
        json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    (folder / "report.html").write_text(render_html(results, data, svgs), encoding="utf-8")
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


def _preference_shown(preference: pd.DataFrame, k: int) -> pd.DataFrame:
    """The preference-score bins as drawn: a bin holding 1..k-1 persons of a group is not drawn.

    Only proportions are drawn, never the counts; hiding the small bins keeps a bar from revealing a
    count under the minimum cell size (proportion x group size).
    """
    shown = preference.copy()
    if "n" in shown.columns:
        small = (shown["n"] > 0) & (shown["n"] < k)
        shown.loc[small, "proportion"] = 0.0
        shown = shown.drop(columns="n")
    return shown


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
