"""Table 1: baseline characteristics by group with standardized differences.

Numbers only (a tidy DataFrame); suppression of small counts and formatting belong to the report.
Standardized differences come from :mod:`cohortstat.analysis.balance` (one SMD for the whole package).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cohortstat.analysis.balance import smd, smd_multinomial
from cohortstat.constants import (
    AGE,
    CALENDAR_YEAR,
    CCI_PREFIX,
    CHARLSON,
    CHARLSON_CATEGORIES,
    GROUP,
    SEX,
    SEX_CODES,
    TABLE_ONE_LABELS,
    YES_NO,
)

__all__ = ["table_one"]

_STATS = ("n", "pct", "mean", "sd")


def _charlson_category(score: pd.Series) -> pd.Series:
    return pd.cut(score, [-np.inf, 0, 2, 4, np.inf], labels=list(CHARLSON_CATEGORIES)).astype(str)


def _row(variable: str, level: str, kind: str) -> dict:
    return {"variable": variable, "level": level, "kind": kind}


def _count_row(parts: dict) -> dict:
    r = _row(TABLE_ONE_LABELS["patients"], "", "n")
    for g, part in parts.items():
        r[f"n_{g}"] = len(part)
    r["smd"] = math.nan
    return r


def _continuous(variable: str, column: str, parts: dict, exposed: str, reference: str) -> list[dict]:
    r = _row(variable, "mean (SD)", "continuous")
    values = {g: part[column].to_numpy(float) for g, part in parts.items()}
    for g, a in values.items():
        r[f"mean_{g}"] = float(a.mean()) if len(a) else math.nan
        r[f"sd_{g}"] = float(a.std(ddof=1)) if len(a) > 1 else math.nan
    r["smd"] = smd(values[exposed], values[reference], binary=False)
    return [r]


def _categorical(variable: str, by_group: dict[str, pd.Series], levels, exposed: str, reference: str) -> list[dict]:
    """One row per level; the rows of a variable partition each group; the SMD is on the first row."""
    counts = {g: s.value_counts() for g, s in by_group.items()}
    sizes = {g: len(s) for g, s in by_group.items()}
    props = {g: np.array([counts[g].get(lv, 0) for lv in levels], float) / max(sizes[g], 1) for g in by_group}
    value = smd_multinomial(props[exposed], props[reference], sizes[exposed], sizes[reference])
    rows = []
    for i, lv in enumerate(levels):
        r = _row(variable, str(lv), "categorical")
        for g in by_group:
            r[f"n_{g}"] = int(counts[g].get(lv, 0))
            r[f"pct_{g}"] = 100 * props[g][i]
        r["smd"] = value if i == 0 else math.nan
        rows.append(r)
    return rows


def _binary_columns(table: pd.DataFrame, flags) -> list[tuple[str, str]]:
    """``(column, variable label)`` of the Charlson components then the flags."""
    out = []
    for col in table.columns:
        if col.startswith(CCI_PREFIX):
            out.append((col, f"Charlson: {col[len(CCI_PREFIX):].replace('_', ' ')}"))
    out.extend((f, f"Flag: {f.replace('_', ' ')}") for f in flags if f in table)
    return out


def table_one(table: pd.DataFrame, *, exposed: str, reference: str, flags=(), labels=None) -> pd.DataFrame:
    """Baseline characteristics by group with standardized differences.

    Parameters
    ----------
    table : pandas.DataFrame
        The analysis table (``group, age, sex, calendar_year, charlson, cci_*`` and flag columns).
    exposed, reference : str
        Group names (column order of the output).
    flags : sequence of str
        Covariate flag columns.
    labels : dict, optional
        Display labels of the groups (unused in the numbers; kept for callers that pass them).

    Returns
    -------
    pandas.DataFrame
        One row per characteristic (or level): ``variable, level, kind, n_<g>, pct_<g>, mean_<g>,
        sd_<g>`` for both groups and ``smd``. ``kind`` is ``n``, ``continuous`` or ``categorical``;
        categorical rows of one variable form a partition of the group (for secondary suppression).
        A two-level variable's SMD is that of its first level's proportion; with more levels it is the
        multinomial form of Yang & Dalton (2012) (:func:`cohortstat.analysis.balance.smd_multinomial`).

    References
    ----------
    Austin PC. Balance diagnostics for comparing the distribution of baseline covariates between
    treatment groups in propensity-score matched samples. Stat Med 2009;28:3083-3107.
    Yang D, Dalton JE. A unified approach to measuring the effect size between two groups using SAS.
    SAS Global Forum 2012, paper 335.
    """
    groups = (exposed, reference)
    parts = {g: table.loc[table[GROUP] == g] for g in groups}
    ends = (exposed, reference)
    rows: list[dict] = [_count_row(parts)]
    if AGE in table:
        rows += _continuous(TABLE_ONE_LABELS[AGE], AGE, parts, *ends)
    if SEX in table:
        sex = {g: parts[g][SEX].map(SEX_CODES) for g in groups}
        rows += _categorical(TABLE_ONE_LABELS[SEX], sex, list(SEX_CODES.values()), *ends)
    if CALENDAR_YEAR in table:
        years = sorted(int(y) for y in table[CALENDAR_YEAR].dropna().unique())
        rows += _categorical(TABLE_ONE_LABELS[CALENDAR_YEAR], {g: parts[g][CALENDAR_YEAR].astype(int) for g in groups},
                             years, *ends)
    if CHARLSON in table:
        rows += _continuous(TABLE_ONE_LABELS[CHARLSON], CHARLSON, parts, *ends)
        cats = {g: _charlson_category(parts[g][CHARLSON]) for g in groups}
        rows += _categorical(TABLE_ONE_LABELS["charlson_category"], cats, list(CHARLSON_CATEGORIES), *ends)
    for col, variable in _binary_columns(table, flags):
        vals = {g: parts[g][col].map(YES_NO) for g in groups}
        rows += _categorical(variable, vals, list(YES_NO.values()), *ends)
    out = pd.DataFrame(rows)
    cols = ["variable", "level", "kind"] + [f"{s}_{g}" for g in groups for s in _STATS] + ["smd"]
    for c in cols:
        if c not in out:
            out[c] = np.nan
    return out[cols]
