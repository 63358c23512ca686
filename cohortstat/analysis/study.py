"""The analyses a study declares, run on its cohort: ``analyze(study, cohort) -> StudyResults``.

Per outcome: person-years and incidence rates per group (exact Poisson CIs), Aalen-Johansen cumulative
incidence by group with Gray's test, crude and adjusted cause-specific Cox, crude and adjusted Fine-Gray,
the proportional-hazards test of the adjusted Cox model, and -- when the study asks for confounding
control -- the exposure-only Cox and Fine-Gray models on the matched or weighted table with robust
variance (clustered on the matched set for matching). Only aggregates leave this module:
:class:`~cohortstat.analysis.results.StudyResults` holds no patient-level row, so the report cannot
leak one.

Semantic choices (docs/user-guide.md, "What the report computes"):

- covariates of the adjusted models: ``exposure`` then ``age`` (linear), ``female`` (``sex == 2``),
  ``calendar_year`` (linear), ``charlson`` (linear score), then each flag, as declared;
- person-years = sum of ``time_<o>`` / :data:`cohortstat.constants.DAYS_PER_YEAR` (365.25);
- stratified Cox models, failed fits and PH tests: see :mod:`cohortstat.analysis.fitting`; outcomes a
  group cannot be compared on: see :mod:`cohortstat.analysis.outcomes`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from cohortstat.analysis.confounding import ConfoundingResult, adjust_for_confounding, covariate_columns
from cohortstat.analysis.curves import analysed_curves
from cohortstat.analysis.fit_cache import cached_for
from cohortstat.analysis.fitting import cox_strata
from cohortstat.analysis.outcomes import analyze_outcome
from cohortstat.analysis.results import StudyResults
from cohortstat.analysis.table_one import table_one
from cohortstat.analysis.terms import add_term_columns
from cohortstat.constants import EXPOSURE, FEMALE, SEX, SEX_FEMALE
from cohortstat.errors import CohortError, CohortstatWarning

__all__ = ["analyze", "model_covariates"]


def model_covariates(study) -> list[str]:
    """Covariates of the adjusted outcome models, ``exposure`` first (age and calendar year as splines or
    categories give their derived columns, :mod:`cohortstat.analysis.terms`)."""
    return [EXPOSURE, *covariate_columns(study)]


def _confound(table: pd.DataFrame, study, notes: list) -> ConfoundingResult:
    """The confounding step; its warnings (imbalance after adjustment) become notes of the report."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CohortstatWarning)
        conf = adjust_for_confounding(table, study)
    for w in caught:  # imbalance after adjustment: shown in the balance section and as a note
        if issubclass(w.category, CohortstatWarning):
            notes.append(f"confounding: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes.extend(conf.notes)
    return conf


def _table_one_options(study) -> dict:
    sets = study.concept_sets
    flags = study.covariates.flags
    labels = {f.name: (getattr(sets.get(f.concept_set), "description", None) or "").split(" (")[0] or None
              for f in flags}
    return {"flags": [f.name for f in flags], "flag_labels": labels}


def _table_one_adjusted(conf, study):
    """Table 1 of the analysed population: the matched sample, or the weighted cohort (None without)."""
    if conf is None or conf.method == "none":
        return None
    from cohortstat.constants import WEIGHT

    weights = conf.table[WEIGHT] if conf.method != "matching" and WEIGHT in conf.table else None
    return table_one(conf.table, exposed=study.comparison.exposed, reference=study.comparison.reference,
                     weights=weights, **_table_one_options(study))


def _with_attrition(attrition: pd.DataFrame, rows: list) -> pd.DataFrame:
    if not rows:
        return attrition
    extra = pd.DataFrame(rows)
    extra.insert(0, "step", int(attrition["step"].max()) + 1 + np.arange(len(extra)))
    return pd.concat([attrition, extra], ignore_index=True)


def _strata_notes(strata) -> list[str]:
    if not strata.dropped:
        return []
    return [f"Cox models stratified on {', '.join(strata.variables)}: {', '.join(strata.dropped)} left out of "
            "the adjusted Cox model (constant within strata; its effect is in the baseline hazards)"]


def _negative_controls(study, table, conf, covs, strata, groups, method, progress) -> tuple:
    """Each negative control analysed like an outcome (its ``time_nc_<c>`` columns are built by the
    cohort of :func:`cohortstat.spec.variants.with_negative_controls`)."""
    if not study.negative_controls:
        return ()
    from cohortstat.spec.checks import NEGATIVE_CONTROL_PREFIX
    from cohortstat.spec.models import Outcome

    out = []
    for c in study.negative_controls:
        name = NEGATIVE_CONTROL_PREFIX + c
        outcome = Outcome(label=f"Negative control: {c}", concept_set=c)
        out.append(analyze_outcome(study, name, outcome, table, conf.table if conf else None, covariates=covs,
                                   strata=strata, groups=groups, method=method, progress=progress))
    return tuple(out)


def analyze(study, cohort, *, progress: Callable[[str], None] | None = None) -> StudyResults:
    """Run every analysis the study declares on a built cohort.

    Parameters
    ----------
    study : cohortstat.spec.Study
    cohort : cohortstat.cohort.Cohort
        ``.table`` (analysis table), ``.attrition``, ``.notes``.
    progress : callable, optional
        Called with a short message before each step (may raise, e.g. ``KeyboardInterrupt``, to stop).

    Returns
    -------
    StudyResults

    Raises
    ------
    CohortError
        The cohort is empty, or its table lacks an outcome's columns.
    """
    from cohortstat.analysis.fit_cache import reuse_fits

    with reuse_fits():  # identical fits within the analysis (and, in a run, across its variants) once
        return _analyze(study, cohort, progress)


def _analyze(study, cohort, progress) -> StudyResults:
    table = cohort.table
    exposed, reference = study.comparison.exposed, study.comparison.reference
    groups = (exposed, reference)
    if len(table) == 0:
        raise CohortError("the cohort is empty: no patient meets the entry and inclusion rules")
    # the cohort's columns are shared, not copied (the cohort builder gives one block per dtype, so
    # rows are taken, not merged, downstream); the columns added below are this frame's alone
    table = table.copy(deep=False)
    if SEX in table:
        table[FEMALE] = (table[SEX] == SEX_FEMALE).astype(int)
    table = add_term_columns(table, study.covariates)  # splines / categories of age and calendar year
    if progress:
        progress("Table 1")
    options = _table_one_options(study)
    t1 = cached_for(cohort, ("table_one", repr(study.covariates), exposed, reference, repr(options)),
                    lambda: table_one(table, exposed=exposed, reference=reference, **options))
    method = study.analyses.confounding.method
    notes = list(cohort.notes)
    conf = None
    if method != "none":
        if progress:
            progress(f"confounding: {method}")
        conf = _confound(table, study, notes)
    covs = model_covariates(study)
    strata, table = cox_strata(study.analyses.cox.strata, covs, table)
    notes.extend(_strata_notes(strata))
    outcomes = tuple(
        replace(analyze_outcome(study, name, outcome, table, conf.table if conf else None, covariates=covs,
                                strata=strata, groups=groups, method=method, progress=progress),
                curves=analysed_curves(name, table, conf.table if conf else None, method, groups))
        for name, outcome in study.outcomes.items()
    )
    controls = _negative_controls(study, table, conf, covs, strata, groups, method, progress)
    sir, diagnostics = _sir_and_diagnostics(study, cohort, table, conf, covs, notes, progress)
    return StudyResults(
        study=study, groups=groups, labels={g: study.cohorts[g].label for g in groups},
        attrition=_with_attrition(cohort.attrition, conf.attrition_rows if conf else []).reset_index(drop=True),
        table_one=t1, table_one_adjusted=_table_one_adjusted(conf, study), outcomes=outcomes, balance=conf.balance if conf else None,
        ps_coef=conf.ps_coef if conf else None, preference=conf.preference if conf else None,
        confounding_method=method, notes=tuple(notes), engine=getattr(cohort, "engine", "duckdb"),
        controls=controls, sir=sir, diagnostics=diagnostics,
    )


def _sir_and_diagnostics(study, cohort, table, conf, covs, notes: list, progress) -> tuple:
    """Standardized incidence ratios (with reference rates) and the diagnostics of the analysis."""
    from cohortstat.analysis.diagnostics import study_diagnostics
    from cohortstat.analysis.sir import study_sir

    if progress:
        progress("diagnostics")
    sir = study_sir(study, table)
    diagnostics = study_diagnostics(study, table, conf, covs, owner=cohort)
    notes.extend(diagnostics.notes)
    return sir, diagnostics
