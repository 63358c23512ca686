"""Incidence rates of the *analysed* population: the matched sample, or the weighted cohort, of a study that
adjusts for confounding by propensity score (the population its adjusted hazard ratios come from).

Semantic choices (docs/methods-confounding.md, "Incidence rates of the analysed population"):

- matching: the persons of the matched table at risk of the outcome, counted as persons (matching weights
  of incomplete 1:k sets are not applied: events and persons stay counts), with person-years and the exact
  Poisson interval of :func:`cohortstat.analysis.rates.group_rates`;
- weighting (IPTW for the ATE or the ATT, overlap weights): weighted events ``sum(w d)`` over weighted
  person-years ``sum(w t)``, with the robust (HC0 sandwich) interval of
  :func:`cohortstat.analysis.rates.weighted_incidence_rate`; without a weighted event the rate is 0 and
  its interval is not defined (NaN, with a note);
- no propensity-score adjustment (or no weights or matched sets in the table): no analysed rates (None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from cohortstat.analysis.rates import group_rates, weighted_group_rates
from cohortstat.constants import MATCHED_SET, WEIGHT, event_column, time_column

__all__ = ["AnalysedRates", "analysed_rates"]

_ESTIMAND_LABELS = {"ate": "ATE", "att": "ATT", "overlap": "overlap"}


@dataclass(frozen=True, eq=False)
class AnalysedRates:
    """Incidence rates of one outcome in the analysed population (immutable; aggregates only).

    Attributes
    ----------
    population : str
        ``"matched"`` or ``"weighted"``.
    estimand : str or None
        Weighted: ``"ate"``, ``"att"`` (IPTW) or ``"overlap"``; None when matched.
    table : pandas.DataFrame
        Matched: ``group, n, events, competing_events, person_years, rate, rate_lower, rate_upper``
        (exact Poisson limits). Weighted: ``group, n, events, competing_events`` (unweighted counts),
        ``weighted_events, weighted_person_years, rate, rate_lower, rate_upper`` (robust limits),
        ``constant_weight``. Rates per 1000 person-years.
    notes : tuple of str
    """

    population: str
    estimand: str | None
    table: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``"matched population"`` or ``"weighted population (ATE)"`` (ATT, overlap)."""
        if self.population == "matched":
            return "matched population"
        return f"weighted population ({_ESTIMAND_LABELS.get(self.estimand, self.estimand)})"

    @property
    def interval(self) -> str:
        """How the confidence limits are computed (for captions)."""
        if self.population == "matched":
            return "exact Poisson (Garwood 1936)"
        return "robust (HC0 sandwich) Poisson, Wald on the log rate"


def _zero_event_notes(name: str, table: pd.DataFrame) -> tuple[str, ...]:
    return tuple(f"{name}: no outcome event of {r['group']} patients in the weighted population: weighted rate 0, "
                 "its confidence interval is not defined"
                 for r in table.to_dict("records")
                 if r["weighted_person_years"] > 0 and r["weighted_events"] == 0 and math.isnan(r["rate_lower"]))


def analysed_rates(name: str, adjusted_table: pd.DataFrame | None, method: str, groups,
                   estimand: str | None = None) -> AnalysedRates | None:
    """The incidence rates of outcome ``name`` in the matched or weighted population.

    Parameters
    ----------
    name : str
        The outcome (``time_<name>``, ``event_<name>`` columns).
    adjusted_table : pandas.DataFrame or None
        The table of the confounding step (matched rows, or every row with its ``weight``).
    method : str
        ``none``, ``matching``, ``iptw`` or ``overlap``.
    groups : (exposed, reference)
    estimand : str, optional
        IPTW's estimand (``ate`` or ``att``); overlap weights target the overlap population.

    Returns
    -------
    AnalysedRates or None
        None without propensity-score adjustment.
    """
    from cohortstat.analysis.outcomes import outcome_sample

    if adjusted_table is None or method == "none":
        return None
    t, e = time_column(name), event_column(name)
    if method == "matching":
        if MATCHED_SET not in adjusted_table:
            return None
        return AnalysedRates("matched", None, group_rates(outcome_sample(adjusted_table, name), t, e, groups))
    if WEIGHT not in adjusted_table:
        return None
    target = "overlap" if method == "overlap" else (estimand or "ate")
    table = weighted_group_rates(outcome_sample(adjusted_table, name), t, e, WEIGHT, groups)
    return AnalysedRates("weighted", target, table, _zero_event_notes(name, table))
