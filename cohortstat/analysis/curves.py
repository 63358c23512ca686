"""Curve data of an outcome: cumulative incidence of the outcome and of the competing event (death) with
pointwise 95% confidence limits, numbers at risk at each whole year of follow-up, and cumulative
incidence at fixed times.

Semantic choices (docs/methods-nonparametric.md):

- the curves describe the *analysed* population: the matched table in a matched study, the weighted
  table (weighted Aalen-Johansen, R ``survfit(weights=)``) in a weighted one, the cohort otherwise;
- limits: R ``survfit``'s default log interval; the variance is Gray's (``cmprsk::cuminc``) for the
  unweighted cohort and the infinitesimal-jackknife variance of ``survfit`` with weights;
- ``n_risk`` and ``n_event`` are always counts of persons (not weighted sums): the report coarsens the
  curves on them;
- numbers at risk: persons with follow-up time >= the mark, at the marks of :func:`display_years` up
  to the end of follow-up (the longest follow-up in the population), so the axis ends where the data
  end;
- fixed times (:data:`FIXED_YEARS`): only those within follow-up (the longest follow-up of the
  population; a group whose own follow-up ends before t has no value there, as R ``summary.survfit``
  without ``extend``). The value at k years is the full-resolution Aalen-Johansen step function (not
  the coarsened curve the report draws) at exactly t = k x :data:`DAYS_PER_YEAR` = 365.25 k days,
  right-continuous: an exit at t counts. Follow-up times are whole days, so 1 year counts the events
  up to day 365, 5 years up to day 1826, 10 years up to day 3652. The limits are those of the curve at
  t (its variance and log interval are constant between the cause's event times), equal to R
  ``summary(survfit(...), times = t)`` (weighted) and ``cmprsk::timepoints`` (Gray's variance, unweighted)
  (tests/reference/aj_fixed_times). Each row carries the persons at risk at t (follow-up >= t) and the
  persons with the cause by t: the report gates the published value on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cohortstat.constants import COMPETING_EVENT, DAYS_PER_YEAR, GROUP, OUTCOME_EVENT

__all__ = ["FIXED_YEARS", "OutcomeCurves", "analysed_curves", "display_years", "outcome_curves", "value_at"]

#: Years at which the cumulative incidence is tabulated (those within follow-up).
FIXED_YEARS = (1, 5, 10)
_CURVE = ["group", "time", "n_risk", "n_event", "estimate", "se", "ci_lower", "ci_upper"]
#: The two curves of an outcome: the outcome itself and the competing event (death).
CAUSES = {"outcome": OUTCOME_EVENT, "death": COMPETING_EVENT}


@dataclass(frozen=True, eq=False)
class OutcomeCurves:
    """Curve data of one outcome (immutable; aggregates only).

    Attributes
    ----------
    population : str
        ``"cohort"``, ``"matched"`` or ``"weighted"``.
    cif : dict of str to pandas.DataFrame
        ``{"outcome": ..., "death": ...}``, each ``group, time (days), n_risk, n_event, estimate, se,
        ci_lower, ci_upper``, one row per time at which the cause occurs.
    at_risk : pandas.DataFrame
        ``group, year, n_risk`` at the marks of :func:`display_years`.
    fixed_times : pandas.DataFrame
        ``cause, group, year, time, estimate, ci_lower, ci_upper, n_risk, n_events`` at
        :data:`FIXED_YEARS` within follow-up: the exact Aalen-Johansen value at ``time`` = 365.25 x
        ``year`` days with its limits (NaN where the group's follow-up ends before), the persons at risk
        at ``time`` and the persons with the cause at or before ``time`` (counts of persons, also when
        weighted).
    follow_up_years : float
        The longest follow-up in the population (years): where the curves' time axis ends.
    """

    population: str
    cif: dict = field(repr=False)
    at_risk: pd.DataFrame = field(repr=False)
    fixed_times: pd.DataFrame = field(repr=False)
    follow_up_years: float = 0.0


def _curve(sub: pd.DataFrame, t: str, e: str, cause: int, weights: str | None) -> pd.DataFrame:
    from cohortstat.models import aalen_johansen

    if not len(sub) or not (sub[e] == cause).any():
        return pd.DataFrame(columns=_CURVE)
    if weights is None:
        return aalen_johansen(sub, duration=t, event=e, cause=cause, group=GROUP)[_CURVE]
    w = aalen_johansen(sub, duration=t, event=e, cause=cause, group=GROUP, weights=weights)
    counts = aalen_johansen(sub, duration=t, event=e, cause=cause, group=GROUP)[["group", "time", "n_risk",
                                                                                   "n_event"]]
    return w.drop(columns=["n_risk", "n_event"]).merge(counts, on=["group", "time"], how="left")[_CURVE]


def display_years(follow_up_years: float) -> tuple[int, ...]:
    """Marks of the time axis and of the numbers at risk: every year up to 6 years of follow-up, every
    2 years up to 14, every 5 beyond (a legible table under a half-width panel)."""
    step = 1 if follow_up_years <= 6 else 2 if follow_up_years <= 14 else 5
    return tuple(range(0, int(np.floor(follow_up_years + 1e-9)) + 1, step))


def _at_risk(sub: pd.DataFrame, t: str, groups, years) -> pd.DataFrame:
    rows = []
    for g in groups:
        times = sub.loc[sub[GROUP] == g, t].to_numpy(float)
        for y in years:
            rows.append({"group": g, "year": y, "n_risk": int((times >= y * DAYS_PER_YEAR).sum())})
    return pd.DataFrame(rows, columns=["group", "year", "n_risk"])


def value_at(curve: pd.DataFrame, time: float) -> dict:
    """The step function ``curve`` (one group) at ``time``: estimate and limits of its last corner at
    or before ``time`` (0 with no limits before the first corner)."""
    before = curve.loc[curve["time"] <= time].sort_values("time")
    if not len(before):
        return {"estimate": 0.0, "ci_lower": np.nan, "ci_upper": np.nan}
    last = before.iloc[-1]
    return {"estimate": float(last["estimate"]), "ci_lower": float(last["ci_lower"]),
            "ci_upper": float(last["ci_upper"])}


_FIXED = ["cause", "group", "year", "time", "estimate", "ci_lower", "ci_upper", "n_risk", "n_events"]
_NO_VALUE = {"estimate": np.nan, "ci_lower": np.nan, "ci_upper": np.nan}


def _fixed_times(sub: pd.DataFrame, t: str, e: str, cif: dict, groups, follow_up_years: float) -> pd.DataFrame:
    """The exact values of the full-resolution curves ``cif`` at 365.25 x year days (module docstring)."""
    rows = []
    years = [y for y in FIXED_YEARS if y <= follow_up_years]
    for cause, code in CAUSES.items():
        curve = cif[cause]
        for g in groups:
            part = sub.loc[sub[GROUP] == g]
            times, events = part[t].to_numpy(float), part[e].to_numpy()
            end = times.max() if times.size else -np.inf
            for y in years:
                at = y * DAYS_PER_YEAR
                value = value_at(curve.loc[curve["group"] == g], at) if at <= end else dict(_NO_VALUE)
                rows.append({"cause": cause, "group": g, "year": y, "time": at, **value,
                             "n_risk": int((times >= at).sum()),
                             "n_events": int(((events == code) & (times <= at)).sum())})
    return pd.DataFrame(rows, columns=_FIXED)


def outcome_curves(sub: pd.DataFrame, duration: str, event: str, groups, *, weights: str | None = None,
                   population: str = "cohort") -> OutcomeCurves:
    """Cumulative incidence curves (outcome and death) with 95% limits, numbers at risk and fixed times.

    Parameters
    ----------
    sub : pandas.DataFrame
        The rows at risk of the outcome in the analysed population, with ``group``, ``duration`` (days)
        and ``event`` (0 censored, 1 outcome, 2 death) columns.
    duration, event : str
    groups : (exposed, reference)
    weights : str, optional
        Case-weight column (matching or propensity-score weights): weighted Aalen-Johansen.
    population : str
        What ``sub`` is: ``"cohort"``, ``"matched"`` or ``"weighted"`` (for captions).

    Returns
    -------
    OutcomeCurves
    """
    follow_up = float(sub[duration].max()) / DAYS_PER_YEAR if len(sub) else 0.0
    cif = {name: _curve(sub, duration, event, code, weights) for name, code in CAUSES.items()}
    at_risk = _at_risk(sub, duration, groups, display_years(follow_up))
    return OutcomeCurves(population=population, cif=cif, at_risk=at_risk,
                         fixed_times=_fixed_times(sub, duration, event, cif, groups, follow_up),
                         follow_up_years=follow_up)


def analysed_curves(name: str, table: pd.DataFrame, adjusted_table: pd.DataFrame | None, method: str,
                    groups) -> OutcomeCurves:
    """The curves of outcome ``name`` in the analysed population: the matched or weighted table when the
    study adjusts by propensity score (weighted when its weights are not all 1), else the cohort."""
    from cohortstat.analysis.outcomes import outcome_sample
    from cohortstat.constants import WEIGHT, event_column, time_column

    t, e = time_column(name), event_column(name)
    if adjusted_table is None or method == "none":
        return outcome_curves(outcome_sample(table, name), t, e, groups)
    sub = outcome_sample(adjusted_table, name)
    weighted = WEIGHT in sub and not np.allclose(sub[WEIGHT].to_numpy(float), 1.0)
    return outcome_curves(sub, t, e, groups, weights=WEIGHT if weighted else None,
                          population="matched" if method == "matching" else "weighted")
