"""Kaplan-Meier, Aalen-Johansen cumulative incidence and Gray's test (R ``survfit`` / ``cmprsk::cuminc``).

Semantic choices (see docs/methods-nonparametric.md):
- ``kaplan_meier``: one row per distinct exit time (as ``survfit``, censoring-only times included);
  ``se`` is the Greenwood standard error **on the survival scale**, S(t) * sqrt(sum d/(n(n-d))),
  which is what ``summary(survfit(...))$std.err`` reports (``survfit``'s ``$std.err`` component is the
  SE of log S, i.e. ``se / estimate`` here). Case weights as ``survfit(weights=)``. ``entry=``:
  counting-process risk sets {entry < t <= time}. Limits as ``survfit``'s ``conf.type``.
- ``aalen_johansen``: one row per distinct time at which the cause occurs (the corners of
  ``cuminc``'s step function); ``se`` is the square root of ``cuminc``'s ``var`` (Gray's delta-method
  variance with its correction for tied failures) or, with ``variance="survfit"`` (the default with
  ``entry=``), R ``survfit``'s multi-state infinitesimal-jackknife variance.
- ``gray_test``: Gray (1988) K-sample test with ``rho`` and strata, equal to ``cuminc``'s ``$Tests``.
- Missing values: ``missing="drop"`` (default) drops rows with a missing value in a used column and
  warns (:class:`~cohortstat.errors.DataCheckWarning`, with the count); ``missing="raise"`` raises.

References
----------
Kaplan EL, Meier P (1958). JASA 53:457-481. Greenwood M (1926).
Aalen OO, Johansen S (1978). Scand J Stat 5:141-150.
Gray RJ (1988). A class of K-sample tests for comparing the cumulative incidence of a competing risk.
Ann Stat 16:1141-1154.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.errors import ModelInputError
from cohortstat.models._kernels.aj_ij import aj_curve, aj_ij_variance
from cohortstat.models._kernels.km_gray import confint, cuminc_table, gray_stratum, kaplan_meier_table
from cohortstat.models._results import TestResult
from cohortstat.models._np_input import codes, group_masks, survival_input

NP_COLUMNS = ["time", "n_risk", "n_event", "estimate", "se", "ci_lower", "ci_upper"]
CONF_TYPES = ("log", "log-log", "plain")


def _check_conf(conf_type: str, conf_level: float) -> None:
    if conf_type not in CONF_TYPES:
        raise ModelInputError(f"conf_type must be one of {CONF_TYPES} (R survfit's conf.type), got {conf_type!r}")
    if not 0.0 < conf_level < 1.0:
        raise ModelInputError(f"conf_level must lie strictly between 0 and 1, got {conf_level!r}")


def _weights(sub: pd.DataFrame, weights: str | None) -> np.ndarray | None:
    if weights is None:
        return None
    w = pd.to_numeric(sub[weights], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ModelInputError(f"weights column {weights!r} must hold finite positive numbers")
    return w


def _stack(parts: list[pd.DataFrame], group: str | None) -> pd.DataFrame:
    cols = NP_COLUMNS + ([] if group is None else ["group"])
    return pd.concat(parts, ignore_index=True)[cols]


def kaplan_meier(df: pd.DataFrame, duration: str, event: str, group: str | None = None,
                 weights: str | None = None, *, entry: str | None = None, conf_type: str = "log",
                 conf_level: float = 0.95, missing: str = "drop") -> pd.DataFrame:
    """Kaplan-Meier survival with Greenwood standard error and confidence limits (R ``survfit``).

    Parameters
    ----------
    df : DataFrame with one row per subject.
    duration, event : exit time (>= 0) and event code; any positive code counts as an event.
    group : optional column; one curve per level (category order, else sorted), as ``survfit(~ group)``.
    weights : optional column of positive case weights (``survfit(weights=, robust=FALSE)``).
    entry : optional delayed-entry column; the subject is at risk on ``(entry, duration]``, as
        ``survfit(Surv(entry, duration, event) ~ 1)``. Rows are the distinct exit times.
    conf_type : "log" (default, as R), "log-log" or "plain": R ``survfit``'s ``conf.type``.
    conf_level : coverage of the pointwise interval (``conf.int``), default 0.95.
    missing : "drop" (default; rows with a missing value in a used column are dropped with a
        :class:`~cohortstat.errors.DataCheckWarning` naming the count) or "raise".

    Returns
    -------
    DataFrame with columns time, n_risk, n_event, estimate, se, ci_lower, ci_upper (+ group). ``se`` is
    the Greenwood standard error on the survival scale (``summary.survfit``'s ``std.err``); the
    limits use the Greenwood standard error of log S as ``survfit`` does (NaN where R gives NA).

    References
    ----------
    Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations. JASA 53:457-481.
    Greenwood M (1926). The natural duration of cancer. Rep Public Health Med Subj 33:1-26.
    """
    _check_conf(conf_type, conf_level)
    data, sub = survival_input(df, duration, event, entry=entry, extra=[group, weights], missing=missing,
                               caller="kaplan_meier")
    w = _weights(sub, weights)
    out = []
    for lev, m in group_masks(sub, group):
        ev01 = (data.event[m] > 0).astype(np.int8)
        ut, n, d, surv, gw = kaplan_meier_table(data.time[m], ev01, None if w is None else w[m],
                                                None if data.entry is None else data.entry[m])
        with np.errstate(invalid="ignore"):  # S = 0 after everyone failed: se is NaN, as in R
            se = np.where(surv > 0, surv * np.sqrt(gw), np.nan)
        lo, hi = confint(surv, np.sqrt(gw), conf_type, conf_level, logse=True)
        part = pd.DataFrame({"time": ut, "n_risk": n, "n_event": d, "estimate": surv, "se": se,
                             "ci_lower": lo, "ci_upper": hi})
        if group is not None:
            part["group"] = lev
        out.append(part)
    return _stack(out, group)


def _aj_variance(variance: str | None, entry: str | None, weights: str | None = None) -> str:
    if variance is None:
        return "cuminc" if entry is None and weights is None else "survfit"
    if variance not in ("cuminc", "survfit"):
        raise ModelInputError(f"variance must be 'cuminc' or 'survfit', got {variance!r}")
    if variance == "cuminc" and (entry is not None or weights is not None):
        raise ModelInputError("cmprsk::cuminc has no delayed entry and no case weights; with entry= or weights= "
                              "use variance='survfit' (the infinitesimal-jackknife variance of R survfit)")
    return variance


def _aj_one(time, st, entry, variance, w=None):
    if variance == "cuminc":
        order = np.argsort(time, kind="stable")
        return cuminc_table(time[order], st[order])
    u, n, d1, d, s_before, F = aj_curve(time, st, entry, w)
    var = aj_ij_variance(time, st, entry, u, n, d1, d, s_before, F, w)
    m = d1 > 0
    return u[m], n[m], d1[m], F[m], var[m]


def aalen_johansen(df: pd.DataFrame, duration: str, event: str, cause: int = 1,
                   group: str | None = None, *, entry: str | None = None, weights: str | None = None,
                   variance: str | None = None, conf_type: str = "log", conf_level: float = 0.95,
                   missing: str = "drop") -> pd.DataFrame:
    """Cumulative incidence of ``cause`` (Aalen-Johansen), with delayed entry and confidence limits.

    Parameters
    ----------
    df : DataFrame with one row per subject.
    duration, event : exit time and event code (0 censored, positive integers the causes).
    cause : the cause whose cumulative incidence is estimated; other positive codes compete.
    group : optional column; one curve per level.
    entry : optional delayed-entry column (left truncation): at risk on ``(entry, duration]``.
    weights : optional column of positive case weights (propensity-score or matching weights): the
        weighted Aalen-Johansen estimate, as R ``survfit(..., weights = w, id = id)``; ``n_risk`` and
        ``n_event`` are then weighted sums.
    variance : "cuminc" (default without ``entry`` and ``weights``): Gray's delta-method variance of
        ``cmprsk::cuminc``; "survfit" (default and only choice with ``entry`` or ``weights``): the
        infinitesimal-jackknife variance of R ``survfit(Surv(entry, duration, factor(event)) ~ 1,
        id = id)`` (multi-state fit, one row per subject; with weights ``sum_i w_i^2 U_i^2``).
    conf_type, conf_level : R ``survfit``'s ``conf.type`` ("log" default, "log-log", "plain") and
        ``conf.int``, applied to the cumulative incidence as ``survfit`` does for a multi-state fit.
    missing : "drop" (default, with a :class:`~cohortstat.errors.DataCheckWarning`) or "raise".

    Returns
    -------
    DataFrame with columns time, n_risk, n_event, estimate, se, ci_lower, ci_upper (+ group), one row
    per distinct time at which ``cause`` occurs (the corners of the step function).

    References
    ----------
    Aalen OO, Johansen S (1978). Scand J Stat 5:141-150. Gray RJ (1988). Ann Stat 16:1141-1154.
    Therneau T, Crowson C, Atkinson E. Multi-state models and competing risks (survival vignette).
    """
    _check_conf(conf_type, conf_level)
    variance = _aj_variance(variance, entry, weights)
    data, sub = survival_input(df, duration, event, entry=entry, extra=[group, weights], missing=missing,
                               caller="aalen_johansen")
    w = _weights(sub, weights)
    st_all = np.where(data.event == cause, 1, np.where(data.event == 0, 0, 2)).astype(np.int8)
    out = []
    for lev, m in group_masks(sub, group):
        ut, n, d1, F, var = _aj_one(data.time[m], st_all[m], None if data.entry is None else data.entry[m],
                                    variance, None if w is None else w[m])
        se = np.sqrt(np.maximum(var, 0.0))
        lo, hi = confint(F, se, conf_type, conf_level, logse=False)
        part = pd.DataFrame({"time": ut, "n_risk": n, "n_event": d1, "estimate": F, "se": se,
                             "ci_lower": lo, "ci_upper": hi})
        if group is not None:
            part["group"] = lev
        out.append(part)
    return _stack(out, group)


@dataclass(frozen=True)
class GrayTest(TestResult, Mapping):
    """Result of :func:`gray_test`: a :class:`TestResult` (stat, df, p) that also reads as a mapping
    with keys stat, df, p (``res["p"]``, ``dict(res)``)."""

    def __getitem__(self, key):
        if key not in ("stat", "df", "p"):
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(("stat", "df", "p"))

    def __len__(self):
        return 3

    def __repr__(self):
        return f"GrayTest(stat={self.stat:.6g}, df={self.df}, p={self.p:.4g})"


def gray_test(df: pd.DataFrame, duration: str, event: str, group: str, cause: int = 1,
              strata: str | None = None, rho: float = 0.0, *, missing: str = "drop") -> GrayTest:
    """Gray's K-sample test of equal cumulative incidence of ``cause`` across ``group``.

    Equal to ``cmprsk::cuminc(..., group, strata, rho)$Tests`` row for the cause: statistic, df = K - 1,
    p-value from the chi-square distribution. Strata: scores and variances summed over strata.
    ``missing``: "drop" (default, with a :class:`~cohortstat.errors.DataCheckWarning`) or "raise".

    References
    ----------
    Gray RJ (1988). A class of K-sample tests for comparing the cumulative incidence of a competing
    risk. Ann Stat 16:1141-1154.
    """
    data, sub = survival_input(df, duration, event, extra=[group, strata], missing=missing,
                               caller="gray_test")
    gcode = codes(sub, group)
    ng = int(gcode.max()) + 1
    if ng < 2:
        raise ModelInputError(f"gray_test needs at least two groups in {group!r}")
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
