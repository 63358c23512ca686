"""Report tables: Table 1 with standardized differences, incidence rates, hazard ratios, E-values.

Every function returns a tidy pandas DataFrame of plain numbers; suppression of small counts is applied
afterwards by :mod:`cohortstat.report.suppression` (the statistics never see strings).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.errors import ReportError

__all__ = [
    "e_value",
    "incidence_rate",
    "poisson_exact_ci",
    "smd_binary",
    "smd_continuous",
    "table_one",
]

CCI_PREFIX = "cci_"


def poisson_exact_ci(events: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood 1936) confidence limits of a Poisson count.

    ``lower = chi2(alpha/2; 2x)/2`` (0 when ``x = 0``), ``upper = chi2(1-alpha/2; 2(x+1))/2``,
    the quantiles of the gamma distribution written through chi-square, as R ``poisson.test`` does.

    References
    ----------
    Garwood F. Fiducial limits for the Poisson distribution. Biometrika 1936;28:437-442.
    """
    x = int(events)
    if x < 0:
        raise ReportError(f"event count must be >= 0, got {x}")
    lower = 0.0 if x == 0 else float(stats.chi2.ppf(alpha / 2, 2 * x) / 2)
    upper = float(stats.chi2.ppf(1 - alpha / 2, 2 * (x + 1)) / 2)
    return lower, upper


def incidence_rate(events: int, person_years: float, per: float = 1000.0, alpha: float = 0.05) -> dict:
    """Rate per ``per`` person-years with its exact Poisson CI (person-time treated as fixed)."""
    if person_years <= 0:
        return {"rate": math.nan, "rate_lower": math.nan, "rate_upper": math.nan}
    lo, hi = poisson_exact_ci(events, alpha)
    f = per / person_years
    return {"rate": events * f, "rate_lower": lo * f, "rate_upper": hi * f}


def e_value(hr: float, lower: float, upper: float, *, rare: bool) -> dict:
    """E-value of a hazard ratio and of the CI limit closest to 1.

    For a rare outcome (< 15% by the end of follow-up) the HR approximates a risk ratio and is used as
    is; for a common outcome the HR is first converted to an approximate risk ratio
    ``RR = (1 - 0.5**sqrt(HR)) / (1 - 0.5**sqrt(1/HR))`` (VanderWeele & Ding 2017, Table 2). The E-value
    of ``RR >= 1`` is ``RR + sqrt(RR (RR - 1))``; for ``RR < 1`` it is that of ``1/RR``. The CI E-value is
    1 when the interval contains 1.

    References
    ----------
    VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the E-value.
    Ann Intern Med 2017;167:268-274.
    """

    def to_rr(h: float) -> float:
        if rare:
            return h
        return (1 - 0.5 ** math.sqrt(h)) / (1 - 0.5 ** math.sqrt(1 / h))

    def ev(rr: float) -> float:
        if rr < 1:
            rr = 1 / rr
        return rr + math.sqrt(rr * (rr - 1))

    if not all(np.isfinite([hr, lower, upper])) or min(hr, lower, upper) <= 0:
        return {"e_value": math.nan, "e_value_ci": math.nan}
    point = ev(to_rr(hr))
    if lower <= 1 <= upper:
        ci = 1.0
    else:
        ci = ev(to_rr(lower if hr > 1 else upper))
    return {"e_value": point, "e_value_ci": ci}


def smd_continuous(x1: np.ndarray, x0: np.ndarray) -> float:
    """Standardized mean difference ``(m1 - m0) / sqrt((s1^2 + s0^2) / 2)`` (Austin 2009)."""
    if len(x1) < 2 or len(x0) < 2:
        return math.nan
    den = math.sqrt((np.var(x1, ddof=1) + np.var(x0, ddof=1)) / 2)
    return 0.0 if den == 0 else float((np.mean(x1) - np.mean(x0)) / den)


def smd_binary(p1: float, p0: float) -> float:
    """Standardized difference of proportions ``(p1 - p0) / sqrt((p1(1-p1) + p0(1-p0)) / 2)``."""
    den = math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    return 0.0 if den == 0 else float((p1 - p0) / den)


def _charlson_category(score: pd.Series) -> pd.Series:
    return pd.cut(score, [-np.inf, 0, 2, 4, np.inf], labels=["0", "1-2", "3-4", "5+"]).astype(str)


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
        Display labels of the groups.

    Returns
    -------
    pandas.DataFrame
        One row per characteristic (or level): ``variable, level, kind, n_<g>, pct_<g>, mean_<g>,
        sd_<g>`` for both groups and ``smd``. ``kind`` is ``n``, ``continuous`` or ``categorical``;
        categorical rows of one variable form a partition of the group (for secondary suppression).
        For a categorical variable with several levels the SMD is reported on its first row and is
        the multinomial Mahalanobis form of Yang & Dalton (2012).

    References
    ----------
    Austin PC. Balance diagnostics for comparing the distribution of baseline covariates between
    treatment groups in propensity-score matched samples. Stat Med 2009;28:3083-3107.
    Yang D, Dalton JE. A unified approach to measuring the effect size between two groups using SAS.
    SAS Global Forum 2012, paper 335.
    """
    groups = (exposed, reference)
    parts = {g: table.loc[table["group"] == g] for g in groups}
    rows: list[dict] = []

    def base(variable, level, kind):
        return {"variable": variable, "level": level, "kind": kind}

    r = base("Patients", "", "n")
    for g in groups:
        r[f"n_{g}"] = len(parts[g])
    r["smd"] = math.nan
    rows.append(r)

    def continuous(variable, column):
        r = base(variable, "mean (SD)", "continuous")
        for g in groups:
            a = parts[g][column].to_numpy(float)
            r[f"mean_{g}"] = float(a.mean()) if len(a) else math.nan
            r[f"sd_{g}"] = float(a.std(ddof=1)) if len(a) > 1 else math.nan
        r["smd"] = smd_continuous(parts[exposed][column].to_numpy(float), parts[reference][column].to_numpy(float))
        rows.append(r)

    if "age" in table:
        continuous("Age, years", "age")

    def categorical(variable, series_by_group: dict[str, pd.Series], levels):
        counts = {g: series_by_group[g].value_counts() for g in groups}
        props = {g: np.array([counts[g].get(lv, 0) for lv in levels], float) / max(len(series_by_group[g]), 1) for g in groups}
        smd = _multinomial_smd(props[exposed], props[reference])
        for i, lv in enumerate(levels):
            r = base(variable, str(lv), "categorical")
            for g in groups:
                r[f"n_{g}"] = int(counts[g].get(lv, 0))
                r[f"pct_{g}"] = 100 * props[g][i]
            r["smd"] = smd if i == 0 else math.nan
            rows.append(r)

    if "sex" in table:
        sex = {g: parts[g]["sex"].map({1: "male", 2: "female"}) for g in groups}
        categorical("Sex", sex, ["male", "female"])
    if "calendar_year" in table:
        years = sorted(int(y) for y in table["calendar_year"].dropna().unique())
        categorical("Calendar year of index", {g: parts[g]["calendar_year"].astype(int) for g in groups}, years)
    if "charlson" in table:
        continuous("Charlson score", "charlson")
        cats = {g: _charlson_category(parts[g]["charlson"]) for g in groups}
        categorical("Charlson category", cats, ["0", "1-2", "3-4", "5+"])
    binaries = [c for c in table.columns if c.startswith(CCI_PREFIX)] + [f for f in flags if f in table]
    for col in binaries:
        name = col[len(CCI_PREFIX):].replace("_", " ") if col.startswith(CCI_PREFIX) else col.replace("_", " ")
        variable = f"Charlson: {name}" if col.startswith(CCI_PREFIX) else f"Flag: {name}"
        vals = {g: parts[g][col].map({1: "yes", 0: "no"}) for g in groups}
        categorical(variable, vals, ["yes", "no"])
    out = pd.DataFrame(rows)
    for g in groups:
        for c in (f"n_{g}", f"pct_{g}", f"mean_{g}", f"sd_{g}"):
            if c not in out:
                out[c] = np.nan
    cols = ["variable", "level", "kind"] + [f"{s}_{g}" for g in groups for s in ("n", "pct", "mean", "sd")] + ["smd"]
    return out[cols]


def _multinomial_smd(p1: np.ndarray, p0: np.ndarray) -> float:
    """Yang & Dalton multinomial SMD; equals the binary SMD (in absolute value) for two levels."""
    if len(p1) == 2:
        return smd_binary(p1[0], p0[0])
    t, c = p1[1:], p0[1:]
    s = np.zeros((len(t), len(t)))
    for i in range(len(t)):
        for j in range(len(t)):
            if i == j:
                s[i, j] = (t[i] * (1 - t[i]) + c[i] * (1 - c[i])) / 2
            else:
                s[i, j] = (-t[i] * t[j] - c[i] * c[j]) / 2
    d = t - c
    try:
        return float(math.sqrt(max(d @ np.linalg.pinv(s) @ d, 0.0)))
    except np.linalg.LinAlgError:
        return math.nan
