"""Standardized incidence ratios of a study against its reference rates (``reference_rates:``).

For each outcome and each compared group: observed events over the events expected from the
reference rates (:func:`cohortstat.models.sir.standardized_incidence_ratio`), exact Poisson 95% CI
and p-value (R ``poisson.test``). Semantic choices (docs/analysis.md):

- the persons are the outcome's sample (those at risk of it: ``time_<o>`` defined), followed from
  ``follow_up_start`` for ``time_<o>`` days; observed events are ``event_<o> == 1`` (the events of the
  outcome's incidence table);
- age at follow-up start = ``age`` (year of the index admission minus birth year) plus the years from
  the index admission to ``follow_up_start``; it grows with follow-up, and the follow-up is split where
  it crosses an age band (and a calendar year when the rates are by year);
- ``sex`` is the data's code (1 male, 2 female), as in the rate file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohortstat.analysis.fit_cache import cached, frame_digest
from cohortstat.constants import AGE, DAYS_PER_YEAR, GROUP, OUTCOME_EVENT, SEX, event_column, time_column

__all__ = ["SIR_COLUMNS", "study_sir"]

#: Columns of ``StudyResults.sir``; ``observed_events`` is a count (suppressed like every count).
SIR_COLUMNS = ("outcome", "group", "observed_events", "expected", "sir", "ci_lower", "ci_upper", "p", "person_years")
_START, _INDEX = "follow_up_start", "index_admission"
_AGE_START = "_age_at_follow_up_start"


def _rates_frame(rates) -> pd.DataFrame:
    rows = [{"outcome": r.outcome, "age_start": float(r.age_lower),
             "age_end": np.inf if r.age_upper is None else float(r.age_upper), "sex": int(r.sex),
             "year": r.calendar_year, "rate": float(r.rate)} for r in rates.rates]
    out = pd.DataFrame(rows)
    if out["year"].isna().all():
        out = out.drop(columns="year")
    return out


def _age_at_start(sub: pd.DataFrame) -> np.ndarray:
    age = pd.to_numeric(sub[AGE], errors="coerce").to_numpy(float)
    if _START in sub and _INDEX in sub:
        days = (pd.to_datetime(sub[_START]) - pd.to_datetime(sub[_INDEX])).dt.days.to_numpy(float)
        age = age + days / DAYS_PER_YEAR
    return age


def _one(name: str, sub: pd.DataFrame, rates: pd.DataFrame, per: float) -> pd.DataFrame:
    from cohortstat.models.sir import standardized_incidence_ratio

    mine = rates.loc[rates["outcome"] == name].drop(columns="outcome")
    by_year = "year" in mine
    df = pd.DataFrame({
        "time": sub[time_column(name)].to_numpy(float), "event": sub[event_column(name)].to_numpy(int),
        _AGE_START: _age_at_start(sub), SEX: sub[SEX].astype(int).to_numpy(), GROUP: sub[GROUP].to_numpy(),
    })
    if by_year:
        df[_START] = pd.to_datetime(sub[_START]).to_numpy()
    res = standardized_incidence_ratio(df, "time", "event", mine, age=_AGE_START, sex=SEX,
                                       entry_date=_START if by_year else None, group=GROUP, cause=OUTCOME_EVENT,
                                       days_per_year=DAYS_PER_YEAR, rate_per=per)
    out = res.table.rename(columns={"observed": "observed_events"})
    out.insert(0, "outcome", name)
    return out


def study_sir(study, table: pd.DataFrame) -> pd.DataFrame | None:
    """SIR per outcome and group (columns :data:`SIR_COLUMNS`), None when the study has no reference rates.

    Groups are in the order ``(exposed, reference)``; outcomes in study order.
    """
    rr = getattr(study, "reference_rates", None)
    if rr is None or not rr.rates:
        return None
    from cohortstat.analysis.outcomes import outcome_sample

    rates = _rates_frame(rr)
    order = {study.comparison.exposed: 0, study.comparison.reference: 1}
    parts = []
    for name in study.outcomes:
        sub = outcome_sample(table, name)
        sub = sub.loc[sub[GROUP].isin(list(order))]
        if not len(sub):
            continue
        cols = [c for c in (time_column(name), event_column(name), AGE, SEX, GROUP, _START, _INDEX) if c in sub]
        key = ("sir", name, rr, frame_digest(sub, cols), tuple(order))
        parts.append(cached(key, lambda: _one(name, sub, rates, float(rr.per))))
    if not parts:
        return pd.DataFrame(columns=list(SIR_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out = out.assign(_o=out["group"].map(order)).sort_values(["_o"], kind="stable").drop(columns="_o")
    out["_k"] = out["outcome"].map({n: i for i, n in enumerate(study.outcomes)})
    out = out.sort_values(["_k"], kind="stable").drop(columns="_k").reset_index(drop=True)
    return out[list(SIR_COLUMNS)]
