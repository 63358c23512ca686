"""Incidence rates with exact Poisson confidence limits, person-years and numbers at risk.

Person-time is the sum of ``time_<outcome>`` (days) divided by
:data:`cohortstat.constants.DAYS_PER_YEAR`; rates are per 1000 person-years with person-time treated as
fixed (R ``poisson.test(events, person_years)``).
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from cohortstat.constants import AT_RISK_YEARS, COMPETING_EVENT, DAYS_PER_YEAR, GROUP, OUTCOME_EVENT
from cohortstat.errors import ModelInputError

__all__ = ["at_risk_table", "group_rates", "incidence_rate", "poisson_exact_ci"]


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


def at_risk_table(table: pd.DataFrame, duration: str, groups, years=AT_RISK_YEARS) -> pd.DataFrame:
    """Numbers at risk (follow-up time >= the mark) per group at each year mark: ``group, year, n_risk``."""
    rows = []
    for g in groups:
        times = table.loc[table[GROUP] == g, duration].to_numpy(float)
        for y in years:
            rows.append({"group": g, "year": y, "n_risk": int((times >= y * DAYS_PER_YEAR).sum())})
    return pd.DataFrame(rows)
