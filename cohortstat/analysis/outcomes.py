"""Every analysis of one outcome: rates, cumulative incidence, Gray's test, outcome models, PH test.

Semantic choices (docs/user-guide.md, "What the report computes"):

- patients with NaN ``time_<o>`` (prevalent cases of that outcome) are left out of that outcome only;
- when a group has nobody left at risk (every member had the outcome before follow-up, as when the
  outcome's concept set is one that defines the group), the outcome gets its rates and cumulative
  incidence but no comparison (Gray's test, models): a note says so;
- an outcome with a ``population`` (``outcomes.<o>.population``) has NaN ``time_<o>`` outside it (set by
  the cohort builder), so every analysis of the outcome uses its population only; a covariate constant in
  the population (``female`` when it holds one sex) leaves that outcome's adjusted models, with a note;
  with matching, the population is taken after matching: sets it leaves with one group add nothing to the
  conditional model (stratified on the matched set) and keep their members in the marginal one, and a note
  gives how many sets keep both groups;
- the E-value uses the rare-outcome approximation (HR ~ RR) when the cumulative incidence of the outcome
  at the end of follow-up is below :data:`cohortstat.constants.RARE_OUTCOME_RISK` in both groups, the
  common-outcome conversion otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from cohortstat.analysis.analysed_rates import analysed_rates
from cohortstat.analysis.effects import effect_columns, effect_modification
from cohortstat.analysis.fit_cache import cached, frame_digest
from cohortstat.analysis.fitting import (
    CoxStrata,
    FitContext,
    empty_models,
    fit_outcome_models,
    fit_ps_models,
    groups_not_at_risk,
    outcome_ph,
)
from cohortstat.analysis.rates import at_risk_table, group_rates
from cohortstat.analysis.results import OutcomeResults
from cohortstat.constants import (
    EXPOSURE,
    GROUP,
    MATCHED_SET,
    OUTCOME_EVENT,
    RARE_OUTCOME_RISK,
    event_column,
    time_column,
)
from cohortstat.errors import CohortError, ModelInputError

__all__ = ["analyze_outcome", "outcome_sample"]

_CIF_COLUMNS = ["time", "n_risk", "n_event", "estimate", "se", GROUP]
_NO_TEST = {"stat": math.nan, "df": 1, "p": math.nan}


def outcome_sample(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows at risk of outcome ``name`` (non-missing ``time_<name>``), event codes as integers.

    Raises
    ------
    CohortError
        The table has no ``time_<name>`` / ``event_<name>`` columns (built for another study).
    """
    t, e = time_column(name), event_column(name)
    if t not in table or e not in table:
        raise CohortError(f"the analysis table has no {t}/{e} columns; rebuild the cohort with this study")
    columns = [k for k, c in enumerate(table.columns) if not _other_outcome(c, table.columns, t, e)]
    sub = table.iloc[np.flatnonzero(table[t].notna().to_numpy()), columns]  # a copy: rows and columns taken
    sub[e] = sub[e].astype(int)
    return sub


def _other_outcome(column: str, columns, t: str, e: str) -> bool:
    """Whether ``column`` is another outcome's time or event column (a ``time_x`` / ``event_x`` pair)."""
    if column in (t, e):
        return False
    if column.startswith("time_"):
        return "event_" + column[5:] in columns
    return column.startswith("event_") and "time_" + column[6:] in columns


def _summary_key(study, name: str, sub: pd.DataFrame, covariates, strata: CoxStrata) -> tuple:
    """What the outcome's summaries that do not depend on the confounding method read: the outcome's rows
    (content of every column they use) and the settings of the subgroup and period models. Variants that
    change only the confounding method get the main analysis's summaries back (:mod:`.fit_cache`)."""
    a, f = study.analyses, study.follow_up
    used = [GROUP, *effect_columns(name, a, covariates, strata)]  # (the curves and Gray's test: time, event, group)
    columns = [c for c in dict.fromkeys(used) if c in sub]
    settings = (tuple(covariates), repr(strata), a.subgroups, a.age_bands, a.periods, a.cox.ties, a.cox.adjusted,
                f.offset_days, f.blanking_days)
    return name, settings, frame_digest(sub, columns)


def _noted(key: tuple, notes: list, compute: Callable[[list], object]):
    """``compute(notes)``, or its earlier result for the same ``key`` in this run (:func:`.fit_cache.cached`);
    the notes it added are added again when the result is reused, in the same place."""
    def run():
        added: list[str] = []
        return compute(added), tuple(added)

    value, added = cached(key, run)
    notes.extend(added)
    return value


def _cumulative_incidence(sub: pd.DataFrame, t: str, e: str) -> pd.DataFrame:
    from cohortstat.models import aalen_johansen

    if not len(sub):
        return pd.DataFrame(columns=_CIF_COLUMNS)
    return aalen_johansen(sub, duration=t, event=e, cause=OUTCOME_EVENT, group=GROUP)


def _gray(sub: pd.DataFrame, t: str, e: str, name: str, notes: list) -> dict:
    from cohortstat.models import gray_test

    try:
        gray = gray_test(sub, duration=t, event=e, group=GROUP, cause=OUTCOME_EVENT)
    except ModelInputError as exc:
        notes.append(f"{name}: Gray's test not computed: {exc}")
        return dict(_NO_TEST)
    return {"stat": float(gray["stat"]), "df": int(gray["df"]), "p": float(gray["p"])}


def _is_rare(cif: pd.DataFrame) -> bool:
    last = cif.groupby(GROUP)["estimate"].last() if len(cif) else pd.Series(dtype=float)
    return bool((last < RARE_OUTCOME_RISK).all())


def _comparable(sub: pd.DataFrame, e: str, name: str, groups, notes: list, population=None) -> bool:
    """Whether the groups can be compared on this outcome; a note says why not."""
    missing = groups_not_at_risk(sub, groups)
    if missing and population is not None:
        notes.append(f"{name}: no {' or '.join(missing)} patient at risk in its population ({population.describe()}: "
                     "outside it, or the outcome before follow-up); groups not compared")
        return False
    if missing:
        notes.append(f"{name}: no {' or '.join(missing)} patient at risk (each had the outcome before follow-up; "
                     "is the outcome's concept set one that defines the cohort?); groups not compared")
        return False
    if int((sub[e] == OUTCOME_EVENT).sum()) == 0:
        notes.append(f"{name}: no outcome event; no model fitted")
        return False
    return True


def _population_covariates(sub: pd.DataFrame, name: str, population, covariates, groups, notes: list) -> list:
    """The outcome's population in a note (persons analysed per group, suppressed like every count), and the
    adjusted models' covariates without those constant in it (e.g. ``female`` for women only)."""
    n = ", ".join(f"{g} {int((sub[GROUP] == g).sum())}" for g in groups)
    notes.append(f"{name}: {population.describe()} only (its population), persons analysed: {n}")
    constant = [c for c in covariates[1:] if c in sub and len(sub) and sub[c].nunique(dropna=False) == 1]
    if constant:
        notes.append(f"{name}: {', '.join(constant)} left out of the adjusted models (the same for every person "
                     "of the outcome's population)")
    return [c for c in covariates if c not in constant]


def _broken_sets(adjusted_sub: pd.DataFrame, adjusted: pd.DataFrame, name: str) -> list[str]:
    """After matching: how many matched sets keep both groups in the outcome's population."""
    if MATCHED_SET not in adjusted or not len(adjusted):
        return []
    both = adjusted_sub.groupby(MATCHED_SET)[EXPOSURE].nunique()
    kept, total = int((both == 2).sum()), int(adjusted[MATCHED_SET].nunique())
    return [f"{name}: population taken after matching: {kept} of {total} matched sets keep both groups in it; "
            "the other sets add nothing to the conditional model (stratified on the matched set) and keep their "
            "remaining members in the marginal model"]


def analyze_outcome(study, name: str, outcome, table: pd.DataFrame, adjusted_table: pd.DataFrame | None,
                    *, covariates, strata: CoxStrata, groups, method: str,
                    progress: Callable[[str], None] | None = None) -> OutcomeResults:
    """Every analysis of one outcome (see the module docstring).

    Parameters
    ----------
    study : cohortstat.spec.Study
    name : str
        The outcome's name (``time_<name>``, ``event_<name>`` columns).
    outcome : the study's outcome entry (its ``label``).
    table : pandas.DataFrame
        The analysis table (with ``female`` and the stratum column).
    adjusted_table : pandas.DataFrame or None
        The matched or weighted table of the confounding step.
    covariates : sequence of str
        Covariates of the adjusted models, ``exposure`` first.
    strata : CoxStrata
    groups : (exposed, reference)
    method : str
        Confounding method (for progress messages).
    progress : callable, optional

    Returns
    -------
    OutcomeResults
    """
    t, e = time_column(name), event_column(name)
    sub = outcome_sample(table, name)
    # (patients not at risk per group are in the cohort notes; a total here would un-suppress them)
    notes: list[str] = []
    population = getattr(outcome, "population", None)
    if population is not None:
        covariates = _population_covariates(sub, name, population, covariates, groups, notes)
        if adjusted_table is not None:
            notes.extend(_broken_sets(outcome_sample(adjusted_table, name), adjusted_table, name))
    key = _summary_key(study, name, sub, covariates, strata)
    cif = cached(("cif", *key), lambda: _cumulative_incidence(sub, t, e))
    comparable = _comparable(sub, e, name, groups, notes, population)
    gray = _NO_TEST if groups_not_at_risk(sub, groups) else _noted(("gray", *key), notes,
                                                                   lambda n: _gray(sub, t, e, name, n))
    ctx = FitContext(name=name, duration=t, event=e, rare=_is_rare(cif), notes=notes, progress=progress)
    cox_fits = {}
    if comparable:
        cox_fits = fit_outcome_models(ctx, sub, study.analyses, covariates, strata)
        if adjusted_table is not None:
            fit_ps_models(ctx, outcome_sample(adjusted_table, name), study.analyses, method)
    if comparable and (study.analyses.subgroups or study.analyses.periods):
        ctx.step("subgroup and period models")
    effects = _noted(("effects", *key), notes,
                     lambda n: effect_modification(study, name, sub, covariates, strata, n)) if comparable else None
    models = pd.concat(ctx.rows, ignore_index=True) if ctx.rows else empty_models()
    ph, violated = outcome_ph(ctx, cox_fits, study.analyses.ph_test)
    return OutcomeResults(
        name=name, label=outcome.label, rates=group_rates(sub, t, e, groups), cif=cif,
        at_risk=at_risk_table(sub, t, groups), gray=dict(gray), models=models, ph=ph, ph_violated=violated,
        notes=tuple(notes), model_events=pd.DataFrame(ctx.events, columns=["model", "events_exposed",
                                                                          "events_reference"]),
        infinite=tuple(ctx.infinite), effects=effects,
        analysed_rates=analysed_rates(name, adjusted_table, method, groups, study.analyses.confounding.estimand),
    )
