"""Incidence rates with exact Poisson confidence limits, person-years and numbers at risk; weighted rates
with a robust (sandwich) confidence interval.

Person-time is the sum of ``time_<outcome>`` (days) divided by
:data:`cohortstat.constants.DAYS_PER_YEAR`; rates are per 1000 person-years with person-time treated as
fixed (R ``poisson.test(events, person_years)``).

Weighted rates (:func:`weighted_incidence_rate`, propensity-score weights) are ``sum(w d) / sum(w t)``,
the maximum-likelihood rate of the intercept-only Poisson model with log link, offset ``log(t)`` and
prior weights ``w`` (R ``glm(d ~ 1 + offset(log(t)), poisson, weights = w)``). Weighted counts have no
Poisson distribution, so the exact interval does not apply: the interval is Wald on the log rate with the
HC0 sandwich variance of that model (``sandwich::vcovHC(fit, type = "HC0")``), as the robust variance of
the weighted Cox models (no small-sample factor, the propensity score treated as known).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.constants import AT_RISK_YEARS, COMPETING_EVENT, DAYS_PER_YEAR, GROUP, OUTCOME_EVENT
from cohortstat.errors import ModelInputError

__all__ = ["at_risk_table", "group_rates", "incidence_rate", "poisson_exact_ci", "weighted_group_rates",
           "weighted_incidence_rate"]


def poisson_exact_ci(events: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood 1936) confidence limits of a Poisson count.

    ``lower = chi2(alpha/2; 2x)/2`` (0 when ``x = 0``), ``upper = chi2(1-alpha/2; 2(x+1))/2``,
    the quantiles of the gamma distribution written through chi-square, as R ``poisson.test`` does.

    Raises
    ------
    ModelInputError
        A negative count.

    References
    ----------
    Garwood F. Fiducial limits for the Poisson distribution. Biometrika 1936;28:437-442.
    """
    x = int(events)
    if x < 0:
        raise ModelInputError(f"event count must be >= 0, got {x}; pass the number of events")
    lower = 0.0 if x == 0 else float(stats.chi2.ppf(alpha / 2, 2 * x) / 2)
    upper = float(stats.chi2.ppf(1 - alpha / 2, 2 * (x + 1)) / 2)
    return lower, upper


def incidence_rate(events: int, person_years: float, per: float = 1000.0, alpha: float = 0.05) -> dict:
    """Rate per ``per`` person-years with its exact Poisson CI (person-time treated as fixed).

    Returns
    -------
    dict
        ``rate, rate_lower, rate_upper``; NaN when there is no person-time.
    """
    if person_years <= 0:
        return {"rate": math.nan, "rate_lower": math.nan, "rate_upper": math.nan}
    lo, hi = poisson_exact_ci(events, alpha)
    f = per / person_years
    return {"rate": events * f, "rate_lower": lo * f, "rate_upper": hi * f}


def group_rates(table: pd.DataFrame, duration: str, event: str, groups) -> pd.DataFrame:
    """Persons, events, competing events, person-years and incidence rate per group.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows at risk of the outcome, with ``group``, ``duration`` (days) and ``event`` (0/1/2) columns.
    duration, event : str
    groups : sequence of str
        Group names, in output order.

    Returns
    -------
    pandas.DataFrame
        ``group, n, events, competing_events, person_years, rate, rate_lower, rate_upper``.
    """
    rows = []
    for g in groups:
        part = table.loc[table[GROUP] == g]
        events = int((part[event] == OUTCOME_EVENT).sum())
        py = float(part[duration].sum()) / DAYS_PER_YEAR
        rows.append({"group": g, "n": len(part), "events": events,
                     "competing_events": int((part[event] == COMPETING_EVENT).sum()),
                     "person_years": py, **incidence_rate(events, py)})
    return pd.DataFrame(rows)


def weighted_incidence_rate(events, person_years, weights, per: float = 1000.0, alpha: float = 0.05) -> dict:
    """Weighted rate per ``per`` person-years with its robust (HC0 sandwich) Wald interval on the log scale.

    With ``d`` the event indicators, ``t`` the person-times and ``w`` the weights:
    ``r = sum(w d) / sum(w t)``, ``Var(log r) = sum(w^2 (d - r t)^2) / sum(w d)^2`` (bread
    ``sum(w t r) = sum(w d)`` of the intercept-only Poisson model with offset ``log t``, meat the sum of its
    squared weighted score contributions), limits ``r exp(-/+ z se)`` with ``z`` the ``1 - alpha/2``
    normal quantile. Without weighted events the rate is 0 and the interval is not defined (NaN): the
    log rate is minus infinity.

    Parameters
    ----------
    events : array_like
        Event indicator (0/1) or count per person.
    person_years : array_like
        Person-time per person, in years.
    weights : array_like
        Non-negative weights.
    per, alpha : float

    Returns
    -------
    dict
        ``weighted_events, weighted_person_years, rate, rate_lower, rate_upper`` (rate and limits per
        ``per`` person-years; NaN without person-time).

    Raises
    ------
    ModelInputError
        Arrays of different lengths, or negative or non-finite values.

    References
    ----------
    Zeileis A. Object-oriented computation of sandwich estimators. J Stat Softw 2006;16(9):1-16.
    Austin PC, Stuart EA. Moving towards best practice when using inverse probability of treatment
    weighting (IPTW) using the propensity score. Stat Med 2015;34(28):3661-79.
    """
    d, t, w = (np.asarray(a, dtype=float).ravel() for a in (events, person_years, weights))
    if not len(d) == len(t) == len(w):
        raise ModelInputError("events, person_years and weights must have one value per person each")
    if not (np.isfinite(d).all() and np.isfinite(t).all() and np.isfinite(w).all()):
        raise ModelInputError("events, person_years and weights must be finite; drop the persons without them")
    if (d < 0).any() or (t < 0).any() or (w < 0).any():
        raise ModelInputError("events, person_years and weights must be >= 0")
    wd, wt = float(w @ d), float(w @ t)
    out = {"weighted_events": wd, "weighted_person_years": wt,
           "rate": math.nan, "rate_lower": math.nan, "rate_upper": math.nan}
    if wt <= 0:
        return out
    r = wd / wt
    out["rate"] = r * per
    if wd <= 0:
        return out
    se = math.sqrt(float(np.sum(w**2 * (d - r * t) ** 2))) / wd
    z = float(stats.norm.ppf(1 - alpha / 2))
    out["rate_lower"], out["rate_upper"] = r * math.exp(-z * se) * per, r * math.exp(z * se) * per
    return out


def weighted_group_rates(table: pd.DataFrame, duration: str, event: str, weights: str, groups) -> pd.DataFrame:
    """Weighted events, weighted person-years and weighted incidence rate (robust CI) per group.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows at risk of the outcome, with ``group``, ``duration`` (days), ``event`` (0/1/2) and
        ``weights`` columns.
    duration, event, weights : str
    groups : sequence of str

    Returns
    -------
    pandas.DataFrame
        ``group, n, events, competing_events`` (persons and events, unweighted), ``weighted_events,
        weighted_person_years, rate, rate_lower, rate_upper`` (:func:`weighted_incidence_rate`) and
        ``constant_weight``: the weight every person of the group shares, NaN when they differ (then
        ``weighted_events / constant_weight`` is the count ``events``).
    """
    rows = []
    for g in groups:
        part = table.loc[table[GROUP] == g]
        w = part[weights].to_numpy(float)
        ev = part[event].to_numpy()
        same = len(w) > 0 and float(np.ptp(w)) <= 1e-12 * max(1.0, float(np.abs(w).max()))
        rows.append({"group": g, "n": len(part), "events": int((ev == OUTCOME_EVENT).sum()),
                     "competing_events": int((ev == COMPETING_EVENT).sum()),
                     **weighted_incidence_rate(ev == OUTCOME_EVENT, part[duration].to_numpy(float) / DAYS_PER_YEAR, w),
                     "constant_weight": float(w[0]) if same else math.nan})
    return pd.DataFrame(rows)


def at_risk_table(table: pd.DataFrame, duration: str, groups, years=AT_RISK_YEARS) -> pd.DataFrame:
    """Numbers at risk (follow-up time >= the mark) per group at each year mark: ``group, year, n_risk``."""
    rows = []
    for g in groups:
        times = table.loc[table[GROUP] == g, duration].to_numpy(float)
        for y in years:
            rows.append({"group": g, "year": y, "n_risk": int((times >= y * DAYS_PER_YEAR).sum())})
    return pd.DataFrame(rows)
