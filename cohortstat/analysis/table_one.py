"""Table 1: baseline characteristics by group with standardized differences.

Numbers only (a tidy DataFrame); suppression of small counts and formatting belong to the report.
Standardized differences come from :mod:`cohortstat.analysis.balance` (one SMD for the whole package).

Every row carries what a publication table needs besides its numbers: the ``section`` it belongs to
(demographics, comorbidity, risk factors, follow-up), a human ``label`` (Charlson components by their
Quan 2005 names) and ``show``: a binary characteristic is shown by its "yes" row only (the "no" row stays
in the table, so that every categorical variable partitions its group for the report's secondary
suppression), and a characteristic that no patient of any group has (a component excluded by design,
such as cancer when prior cancer is an exclusion criterion) is not shown
(:func:`zero_rows` lists them for the table's note).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cohortstat.analysis.balance import smd, smd_multinomial, weighted_moments
from cohortstat.cohort.charlson import LABELS as CHARLSON_LABELS
from cohortstat.constants import (
    AGE,
    CALENDAR_YEAR,
    CCI_PREFIX,
    CHARLSON,
    CHARLSON_CATEGORIES,
    DAYS_PER_YEAR,
    GROUP,
    SEX,
    SEX_CODES,
    TABLE_ONE_LABELS,
    YES_NO,
)

__all__ = ["SECTIONS", "TABLE_ONE_STATS", "follow_up_years", "table_one", "zero_rows"]

#: Statistic columns of Table 1 (``<stat>_<group>``).
TABLE_ONE_STATS = ("n", "pct", "mean", "sd", "median", "q1", "q3", "person_years")
#: Row sections of Table 1, in order.
SECTIONS = {
    "patients": "",
    "demographics": "Demographics",
    "comorbidity": "Comorbidity (Charlson index, Quan 2005 ICD-10 coding)",
    "flags": "Risk factors",
    "follow_up": "Follow-up",
}
MISSING = "missing"
_RECORDED = "recorded"


def _charlson_category(score: pd.Series) -> pd.Series:
    return pd.cut(score, [-np.inf, 0, 2, 4, np.inf], labels=list(CHARLSON_CATEGORIES)).astype(str)


def _row(section: str, variable: str, level: str, kind: str, label: str | None = None, show: bool = True) -> dict:
    return {"section": SECTIONS[section], "variable": variable, "label": label or variable, "level": level,
            "kind": kind, "show": show}


class _Parts:
    """The rows of each group, with their weights (1 without weighting)."""

    def __init__(self, table: pd.DataFrame, groups, weights):
        self.groups = tuple(groups)
        self.frames = {g: table.loc[table[GROUP] == g] for g in groups}
        if weights is None:
            self.weights = None
        else:
            w = pd.Series(np.asarray(weights, float), index=table.index)
            self.weights = {g: w.loc[f.index].to_numpy() for g, f in self.frames.items()}

    def w(self, g, mask=None) -> np.ndarray:
        n = len(self.frames[g])
        w = np.ones(n) if self.weights is None else self.weights[g]
        return w if mask is None else w[mask]


def _count_row(parts: _Parts) -> dict:
    r = _row("patients", TABLE_ONE_LABELS["patients"], "", "n")
    for g, part in parts.frames.items():
        r[f"n_{g}"] = len(part)
    r["smd"] = math.nan
    return r


def _continuous(section: str, variable: str, column: str, parts: _Parts) -> list[dict]:
    r = _row(section, variable, "mean (SD)", "continuous")
    values, masks = {}, {}
    for g, part in parts.frames.items():
        a = pd.to_numeric(part[column], errors="coerce").to_numpy(float)
        masks[g] = ~np.isnan(a)
        values[g] = a[masks[g]]
        if parts.weights is None:
            r[f"mean_{g}"] = float(values[g].mean()) if len(values[g]) else math.nan
            r[f"sd_{g}"] = float(values[g].std(ddof=1)) if len(values[g]) > 1 else math.nan
        else:
            m, v = weighted_moments(values[g], parts.w(g, masks[g]))
            r[f"mean_{g}"], r[f"sd_{g}"] = m, math.sqrt(v) if v == v else math.nan
    e, ref = parts.groups
    if parts.weights is None:
        r["smd"] = smd(values[e], values[ref], binary=False)
    else:
        r["smd"] = smd(values[e], values[ref], binary=False, weights_exposed=parts.w(e, masks[e]),
                       weights_reference=parts.w(ref, masks[ref]))
    rows = [r]
    if any((~m).any() for m in masks.values()):
        recorded = {g: pd.Series(np.where(masks[g], _RECORDED, MISSING)) for g in parts.groups}
        rows += _categorical(section, f"{variable}: missing", recorded, [MISSING, _RECORDED], parts,
                             label=variable, shown=(MISSING,))
    return rows


def _categorical(section: str, variable: str, by_group: dict, levels, parts: _Parts, *, label: str | None = None,
                 shown=None) -> list[dict]:
    """One row per level; the rows of a variable partition each group; the SMD is on the first row.

    ``shown``: the levels shown in the publication table (default every level).
    """
    counts = {g: pd.Series(np.asarray(s)).value_counts() for g, s in by_group.items()}
    sizes = {g: len(s) for g, s in by_group.items()}
    props = {}
    for g, s in by_group.items():
        w = parts.w(g)
        values = np.asarray(s)
        total = w.sum()
        props[g] = np.array([w[values == lv].sum() for lv in levels], float) / total if total > 0 \
            else np.zeros(len(levels))
    e, ref = parts.groups
    value = smd_multinomial(props[e], props[ref], sizes[e], sizes[ref])
    rows = []
    for i, lv in enumerate(levels):
        r = _row(section, variable, str(lv), "categorical", label=label, show=shown is None or lv in shown)
        for g in by_group:
            r[f"n_{g}"] = int(counts[g].get(lv, 0))
            r[f"pct_{g}"] = 100 * props[g][i]
        r["smd"] = value if i == 0 else math.nan
        rows.append(r)
    return rows


def _binary_columns(table: pd.DataFrame, flags, flag_labels: dict) -> list[tuple[str, str, str, str]]:
    """``(section, column, variable key, label)`` of the Charlson components then the flags."""
    out = []
    for col in table.columns:
        if col.startswith(CCI_PREFIX):
            name = col[len(CCI_PREFIX):]
            out.append(("comorbidity", col, f"Charlson: {name.replace('_', ' ')}",
                        CHARLSON_LABELS.get(name, name.replace("_", " ").capitalize())))
    for f in flags:
        if f in table:
            out.append(("flags", f, f"Flag: {f.replace('_', ' ')}",
                        flag_labels.get(f) or f.replace("_", " ").capitalize()))
    return out


def follow_up_years(table: pd.DataFrame) -> pd.Series:
    """Years from follow-up start to death or end of follow-up, per patient, from the outcome columns.

    The time of an outcome column ends at that outcome, death or censoring; the longest time over the
    outcomes is the follow-up of the patient (exact unless every outcome occurred). NaN for a patient at
    risk for no outcome.
    """
    cols = [c for c in table.columns if c.startswith("time_")]
    if not cols:
        return pd.Series(np.nan, index=table.index)
    return table[cols].max(axis=1, skipna=True) / DAYS_PER_YEAR


def _follow_up_row(table: pd.DataFrame, parts: _Parts) -> list[dict]:
    years = follow_up_years(table)
    if years.isna().all():
        return []
    r = _row("follow_up", "Follow-up, years", "median (IQR)", "follow_up")
    for g, part in parts.frames.items():
        y = years.loc[part.index].to_numpy(float)
        ok = ~np.isnan(y)
        y, w = y[ok], parts.w(g, ok)
        if len(y):
            q1, med, q3 = np.quantile(y, [0.25, 0.5, 0.75]) if parts.weights is None else _wquantiles(y, w)
            r.update({f"median_{g}": float(med), f"q1_{g}": float(q1), f"q3_{g}": float(q3),
                      f"person_years_{g}": float((y * w).sum())})
    r["smd"] = math.nan
    return [r]


def _wquantiles(y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    order = np.argsort(y)
    y, w = y[order], w[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return tuple(float(np.interp(q, cum, y)) for q in (0.25, 0.5, 0.75))


def table_one(table: pd.DataFrame, *, exposed: str, reference: str, flags=(), labels=None, flag_labels=None,
              weights=None) -> pd.DataFrame:
    """Baseline characteristics by group with standardized differences.

    Parameters
    ----------
    table : pandas.DataFrame
        The analysis table (``group, age, sex, calendar_year, charlson, cci_*``, flag and ``time_*``
        columns).
    exposed, reference : str
        Group names (column order of the output).
    flags : sequence of str
        Covariate flag columns.
    labels : dict, optional
        Display labels of the groups (unused in the numbers; kept for callers that pass them).
    flag_labels : dict, optional
        Flag name -> human label (default: the name, capitalised).
    weights : array_like, optional
        Weights of the rows of ``table`` (IPTW, overlap): percentages, means, SDs, SMDs and follow-up
        are then weighted; ``n_<g>`` stay the unweighted counts of persons.

    Returns
    -------
    pandas.DataFrame
        One row per characteristic (or level): ``section, variable, label, level, kind, show``, then
        ``<stat>_<g>`` for :data:`TABLE_ONE_STATS` and both groups, and ``smd``. ``kind`` is ``n``,
        ``continuous``, ``categorical`` or ``follow_up`` (median, quartiles and person-years of
        :func:`follow_up_years`); categorical rows of one variable form a partition of the group (for
        secondary suppression). A variable with missing values gets a ``"<variable>: missing"``
        partition (``missing`` shown, ``recorded`` not); sex codes other than male/female are
        ``missing``. A two-level variable's SMD is that of its first level's proportion; with more levels
        it is the multinomial form of Yang & Dalton (2012)
        (:func:`cohortstat.analysis.balance.smd_multinomial`).

    References
    ----------
    Austin PC. Balance diagnostics for comparing the distribution of baseline covariates between
    treatment groups in propensity-score matched samples. Stat Med 2009;28:3083-3107.
    Yang D, Dalton JE. A unified approach to measuring the effect size between two groups using SAS.
    SAS Global Forum 2012, paper 335.
    Quan H, et al. Coding algorithms for defining comorbidities in ICD-9-CM and ICD-10 administrative
    data. Med Care 2005;43:1130-1139.
    """
    groups = (exposed, reference)
    parts = _Parts(table, groups, weights)
    rows: list[dict] = [_count_row(parts)]
    if AGE in table:
        rows += _continuous("demographics", TABLE_ONE_LABELS[AGE], AGE, parts)
    if SEX in table:
        sex = {g: parts.frames[g][SEX].map(SEX_CODES).fillna(MISSING) for g in groups}
        levels = list(SEX_CODES.values()) + ([MISSING] if any((s == MISSING).any() for s in sex.values()) else [])
        rows += _categorical("demographics", TABLE_ONE_LABELS[SEX], sex, levels, parts)
    if CALENDAR_YEAR in table:
        years = sorted(int(y) for y in table[CALENDAR_YEAR].dropna().unique())
        rows += _categorical("demographics", TABLE_ONE_LABELS[CALENDAR_YEAR],
                             {g: parts.frames[g][CALENDAR_YEAR].astype(int) for g in groups}, years, parts)
    if CHARLSON in table:
        rows += _continuous("comorbidity", TABLE_ONE_LABELS[CHARLSON], CHARLSON, parts)
        cats = {g: _charlson_category(parts.frames[g][CHARLSON]) for g in groups}
        rows += _categorical("comorbidity", TABLE_ONE_LABELS["charlson_category"], cats, list(CHARLSON_CATEGORIES),
                             parts)
    for section, col, variable, label in _binary_columns(table, flags, dict(flag_labels or {})):
        vals = {g: parts.frames[g][col].map(YES_NO) for g in groups}
        block = _categorical(section, variable, vals, list(YES_NO.values()), parts, label=label,
                             shown=(YES_NO[1],))
        if all(block[0][f"n_{g}"] == 0 for g in groups):  # nobody has it: not shown (see zero_rows)
            for r in block:
                r["show"] = False
        rows += block
    rows += _follow_up_row(table, parts)
    out = pd.DataFrame(rows)
    cols = (["section", "variable", "label", "level", "kind", "show"]
            + [f"{s}_{g}" for g in groups for s in TABLE_ONE_STATS] + ["smd"])
    for c in cols:
        if c not in out:
            out[c] = np.nan
    return out[cols]


def zero_rows(t1: pd.DataFrame, groups) -> list[str]:
    """Labels of the binary characteristics no patient of any group has (not shown in Table 1)."""
    out = []
    for r in t1.to_dict("records"):
        if (r.get("kind") == "categorical" and r.get("level") == YES_NO[1]
                and all(r.get(f"n_{g}") == 0 for g in groups)):
            out.append(r.get("label") or r["variable"])
    return out
