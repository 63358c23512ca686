"""Kaplan-Meier, Aalen-Johansen cumulative incidence and Gray's test (R ``survfit`` / ``cmprsk::cuminc``).

Semantic choices (see docs/methods-competing-risks.md):
- ``kaplan_meier``: one row per distinct time (as ``survfit``, censoring-only times included);
  ``se`` is the Greenwood standard error **on the survival scale**, S(t) * sqrt(sum d/(n(n-d))),
  which is what ``summary(survfit(...))$std.err`` reports (``survfit``'s ``$std.err`` component is the
  SE of log S, i.e. ``se / estimate`` here). Case weights as ``survfit(weights=)``.
- ``aalen_johansen``: one row per distinct time at which the cause occurs (the corners of
  ``cuminc``'s step function); ``se`` is the square root of ``cuminc``'s ``var`` (Gray's delta-method
  variance with its correction for tied failures).
- ``gray_test``: Gray (1988) K-sample test with ``rho`` and strata, equal to ``cuminc``'s ``$Tests``.

References
----------
Kaplan EL, Meier P (1958). JASA 53:457-481. Greenwood M (1926).
Aalen OO, Johansen S (1978). Scand J Stat 5:141-150.
Gray RJ (1988). A class of K-sample tests for comparing the cumulative incidence of a competing risk.
Ann Stat 16:1141-1154.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.errors import ModelInputError
from cohortstat.models._cr_input import prepare
from cohortstat.models._kernels.km_gray import cuminc_table, gray_stratum, kaplan_meier_table

NP_COLUMNS = ["time", "n_risk", "n_event", "estimate", "se"]


def _groups(sub: pd.DataFrame, group: str | None, n: int):
    if group is None:
        return [(None, np.ones(n, dtype=bool))]
    g = sub[group]
    levels = list(g.cat.categories) if isinstance(g.dtype, pd.CategoricalDtype) else sorted(g.unique())
    vals = g.to_numpy()
    return [(lev, vals == lev) for lev in levels if (vals == lev).any()]


def kaplan_meier(df: pd.DataFrame, duration: str, event: str, group: str | None = None,
                 weights: str | None = None) -> pd.DataFrame:
    """Kaplan-Meier survival with Greenwood standard error on the survival scale (R ``survfit``).

    Any positive ``event`` code counts as an event. Returns columns time, n_risk, n_event, estimate, se
    (+ group).

    References
    ----------
    Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations. JASA 53:457-481.
    """
    data, sub = prepare(df, duration, event, extra=[group, weights])
    w = None
    if weights is not None:
        w = pd.to_numeric(sub[weights], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ModelInputError(f"weights column {weights!r} must hold finite positive numbers")
    out = []
    for lev, m in _groups(sub, group, data.time.size):
        ev01 = (data.event[m] > 0).astype(np.int8)
        ut, n, d, surv, gw = kaplan_meier_table(data.time[m], ev01, None if w is None else w[m])
        with np.errstate(invalid="ignore"):  # S = 0 after everyone failed: se is NaN, as in R
            se = np.where(surv > 0, surv * np.sqrt(gw), np.nan)
        part = pd.DataFrame({"time": ut, "n_risk": n, "n_event": d, "estimate": surv, "se": se})
        if group is not None:
            part["group"] = lev
        out.append(part)
    return pd.concat(out, ignore_index=True)


def aalen_johansen(df: pd.DataFrame, duration: str, event: str, cause: int = 1,
                   group: str | None = None) -> pd.DataFrame:
    """Cumulative incidence of ``cause`` (Aalen-Johansen) with ``cmprsk::cuminc``'s variance.

    Returns columns time, n_risk, n_event, estimate, se (+ group), at the times where the cause occurs.

    References
    ----------
    Aalen OO, Johansen S (1978). Scand J Stat 5:141-150. Gray RJ (1988). Ann Stat 16:1141-1154.
    """
    data, sub = prepare(df, duration, event, extra=[group])
    out = []
    for lev, m in _groups(sub, group, data.time.size):
        order = np.argsort(data.time[m], kind="stable")
        t = data.time[m][order]
        e = data.event[m][order]
        st = np.where(e == cause, 1, np.where(e == 0, 0, 2)).astype(np.int8)
        ut, n, d1, F, var = cuminc_table(t, st)
        part = pd.DataFrame({"time": ut, "n_risk": n, "n_event": d1, "estimate": F,
                             "se": np.sqrt(np.maximum(var, 0.0))})
        if group is not None:
            part["group"] = lev
        out.append(part)
    return pd.concat(out, ignore_index=True)


class GrayTest(Mapping):
    """Result of :func:`gray_test`: a read-only mapping with keys stat, df, p."""

    def __init__(self, stat: float, df: int, p: float):
        self._d = {"stat": float(stat), "df": int(df), "p": float(p)}

    def __getitem__(self, key):
        return self._d[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return 3

    def __repr__(self):
        return f"GrayTest(stat={self['stat']:.6g}, df={self['df']}, p={self['p']:.4g})"


def gray_test(df: pd.DataFrame, duration: str, event: str, group: str, cause: int = 1,
              strata: str | None = None, rho: float = 0.0) -> GrayTest:
    """Gray's K-sample test of equal cumulative incidence of ``cause`` across ``group``.

    Equal to ``cmprsk::cuminc(..., group, strata, rho)$Tests`` row for the cause: statistic, df = K - 1,
    p-value from the chi-square distribution. Strata: scores and variances summed over strata.

    References
    ----------
    Gray RJ (1988). A class of K-sample tests for comparing the cumulative incidence of a competing
    risk. Ann Stat 16:1141-1154.
    """
    data, sub = prepare(df, duration, event, extra=[group, strata])
    groups = _groups(sub, group, data.time.size)
    ng = len(groups)
    if ng < 2:
        raise ModelInputError(f"gray_test needs at least two groups in {group!r}")
    gcode = np.empty(data.time.size, dtype=np.int64)
    for k, (_, m) in enumerate(groups):
        gcode[m] = k
    scode = (np.zeros(data.time.size, dtype=np.int64) if strata is None
             else np.unique(sub[strata].to_numpy().astype(str), return_inverse=True)[1])
    st_all = np.where(data.event == cause, 1, np.where(data.event == 0, 0, 2)).astype(np.int64)
    score = np.zeros(ng - 1)
    var = np.zeros((ng - 1, ng - 1))
    for s in np.unique(scode):
        m = scode == s
        order = np.argsort(data.time[m], kind="stable")
        sc, v = gray_stratum(data.time[m][order], st_all[m][order], gcode[m][order], ng, float(rho))
        score += sc
        var += v
    if np.linalg.matrix_rank(var) < ng - 1:
        stat = -1.0  # as cuminc: singular variance
    else:
        stat = float(score @ np.linalg.solve(var, score))
    return GrayTest(stat, ng - 1, float(stats.chi2.sf(stat, ng - 1)) if stat >= 0 else float("nan"))
