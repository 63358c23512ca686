"""Outcome models of one outcome: crude / adjusted / propensity-score Cox and Fine-Gray, and the PH test.

Semantic choices (docs/user-guide.md, "What the report computes"):

- ``analyses.cox.strata``: the Cox models (crude and adjusted) get a separate baseline hazard per
  stratum. Several variables form one stratum per combination of their values (R
  ``strata(a, b)``); an adjusted-model covariate that is constant within the strata (``female`` when
  stratifying on ``sex``, or the stratification variable itself) is left out of the stratified models,
  as its effect is absorbed by the baseline hazards (R would report it as ``NA``). Fine-Gray models are
  not stratified.
- a model that cannot be fitted (e.g. a singular information matrix) or a PH test that cannot be
  computed becomes a note of the report; the other analyses go on;
- the PH test is flagged as violated when the exposure term's p or the GLOBAL p is below
  ``analyses.ph_test.alpha``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohortstat.analysis.evalue import e_value
from cohortstat.constants import (
    COMPETING_EVENT,
    EXPOSURE,
    EXPOSURE_TERM,
    FEMALE,
    GROUP,
    MATCHED_SET,
    MODEL_TABLE_COLUMNS,
    OUTCOME_EVENT,
    SEX,
    WEIGHT,
)
from cohortstat.errors import CohortError, CohortstatWarning, ConvergenceError, ModelInputError

__all__ = ["CoxStrata", "cox_strata", "fit_outcome_models", "fit_ps_models", "outcome_ph", "ph_diagnostics"]

_PH_COLUMNS = ["term", "chisq", "df", "p"]
#: the competing-event code (death), named so that a sample without censored rows is never read as 1/2 coding
_COMPETING = (COMPETING_EVENT,)
_FIT_ERRORS = (ModelInputError, ConvergenceError, np.linalg.LinAlgError)


@dataclass(frozen=True)
class CoxStrata:
    """How the study's ``analyses.cox.strata`` enter the Cox models.

    Attributes
    ----------
    column : str or None
        Analysis-table column passed to ``CoxPH.fit(strata=)`` (the variable itself, or a combined
        column ``strata(a, b)`` for several); None when not stratified.
    variables : tuple of str
        The stratification variables of the study.
    dropped : tuple of str
        Adjusted-model covariates left out of the stratified models (constant within strata).
    """

    column: str | None = None
    variables: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    def covariates(self, covariates) -> list[str]:
        """``covariates`` without the dropped ones."""
        return [c for c in covariates if c not in self.dropped]


def cox_strata(variables, covariates, table: pd.DataFrame) -> tuple[CoxStrata, pd.DataFrame]:
    """The strata plan and the table with its stratum column (a combined one for several variables).

    The combined column numbers the combinations of values in sorted order of the variables (first
    variable slowest), the order of R ``strata(a, b)``; a stratified fit on it equals a fit with the
    variables' interaction as strata.

    Parameters
    ----------
    variables : sequence of str
        ``analyses.cox.strata`` of the study.
    covariates : sequence of str
        Covariates of the adjusted models.
    table : pandas.DataFrame
        The analysis table (with ``female``).

    Returns
    -------
    (CoxStrata, pandas.DataFrame)
        The plan, and the table (a copy with the combined column when there are several variables).

    Raises
    ------
    CohortError
        A stratification variable is not a column of the table.
    """
    variables = tuple(variables)
    if not variables:
        return CoxStrata(), table
    missing = [v for v in variables if v not in table.columns]
    if missing:
        raise CohortError(
            f"analyses.cox.strata names {', '.join(map(repr, missing))}, not a column of the analysis table; "
            "switch it on under covariates (e.g. covariates.sex: true) and rebuild the cohort"
        )
    if len(variables) == 1:
        column = variables[0]
    else:
        column = f"strata({', '.join(variables)})"
        table = table.copy()
        table[column] = table.groupby(list(variables), sort=True, dropna=False).ngroup().astype(np.int64)
    sources = {FEMALE: SEX}
    dropped = tuple(c for c in covariates if sources.get(c, c) in variables)
    return CoxStrata(column=column, variables=variables, dropped=dropped), table


def _fit(model, notes: list, label: str, df: pd.DataFrame, **kwargs):
    """Fit a model; cohortstat warnings (e.g. monotone likelihood) become notes of the report."""
    from cohortstat.analysis.fit_cache import fit_recorded

    res, caught = fit_recorded(model, df, kwargs)  # an identical earlier fit of the run is reused
    for w in caught:
        if issubclass(w.category, CohortstatWarning):
            notes.append(f"{label}: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return res


def _model_rows(name: str, res, *, rare: bool) -> pd.DataFrame:
    with np.errstate(over="ignore"):  # a monotone-likelihood coefficient gives an infinite CI limit
        tab = res.table().copy()
    tab.insert(0, "model", name)
    tab["n"] = int(res.n)
    tab["n_events"] = int(res.n_events)
    ev = [
        e_value(h, lo, hi, rare=rare) if term == EXPOSURE_TERM else {"e_value": math.nan, "e_value_ci": math.nan}
        for term, h, lo, hi in zip(tab["term"], tab["hr"], tab["ci_lower"], tab["ci_upper"])
    ]
    tab["e_value"] = [d["e_value"] for d in ev]
    tab["e_value_ci"] = [d["e_value_ci"] for d in ev]
    return tab


def empty_models() -> pd.DataFrame:
    """The models table with no row."""
    return pd.DataFrame(columns=list(MODEL_TABLE_COLUMNS))


def _events_row(model: str, df: pd.DataFrame, event: str) -> dict:
    ev = df[event] == OUTCOME_EVENT
    return {"model": model, "events_exposed": int((ev & (df[EXPOSURE] == 1)).sum()),
            "events_reference": int((ev & (df[EXPOSURE] == 0)).sum())}


@dataclass
class FitContext:
    """What every model fit of one outcome needs (internal, mutable collector of rows and notes)."""

    name: str
    duration: str
    event: str
    rare: bool
    notes: list
    progress: Callable[[str], None] | None = None

    def __post_init__(self):
        self.rows: list[pd.DataFrame] = []
        self.events: list[dict] = []
        self.infinite: list[tuple[str, str]] = []
        self.refits: dict[str, Callable[[], object]] = {}  # model name -> a fresh fit of the same model

    def step(self, message: str) -> None:
        if self.progress:
            self.progress(f"{self.name}: {message}")

    def add(self, model_name: str, estimator, df: pd.DataFrame, *, report_notes: bool = True, **kwargs):
        """Fit, add its rows, notes and event counts; a fit that fails becomes a note (returns None).

        ``report_notes=False`` keeps the fit's own notes out of the report (its warnings still become
        notes).
        """
        label = f"{self.name} {model_name}"
        try:
            res = _fit(estimator, self.notes, label, df, duration=self.duration, event=self.event, **kwargs)
        except _FIT_ERRORS as exc:
            self.notes.append(f"{label}: not fitted: {exc}")
            return None
        self.rows.append(_model_rows(model_name, res, rare=self.rare))
        if report_notes:
            self.notes.extend(f"{label}: {n}" for n in res.notes)
        self.events.append(_events_row(model_name, df, self.event))
        self.infinite.extend((model_name, str(t)) for t in getattr(res, "infinite", ()) or ())
        # a partial, not a lambda over self: the context would hold itself (and its samples) in a
        # reference cycle, freed only by the cyclic garbage collector, long after the outcome is done
        self.refits[model_name] = functools.partial(estimator.fit, df, duration=self.duration, event=self.event,
                                                    **kwargs)
        return res


def _cox(analyses):
    from cohortstat.models import CoxPH

    return CoxPH(ties=analyses.cox.ties, cause=OUTCOME_EVENT, competing=_COMPETING)


def _fine_gray(variance: str):
    from cohortstat.models import FineGray

    return FineGray(cause=OUTCOME_EVENT, variance=variance, competing=_COMPETING)


def fit_outcome_models(ctx: FitContext, sub: pd.DataFrame, analyses, covariates, strata: CoxStrata) -> dict:
    """Crude and adjusted Cox and Fine-Gray models as the study asks; returns the Cox fits by kind."""
    cox_fits = {}
    robust = analyses.cox.variance == "robust"
    for kind, cv in (("crude", [EXPOSURE]), ("adjusted", list(covariates))):
        if getattr(analyses.cox, kind):
            ctx.step(f"Cox {kind}")
            res = ctx.add(f"cox_{kind}", _cox(analyses), sub,
                          covariates=strata.covariates(cv), strata=strata.column, robust=robust)
            if res is not None:
                cox_fits[kind] = res
        if getattr(analyses.fine_gray, kind):
            ctx.step(f"Fine-Gray {kind}")
            ctx.add(f"fg_{kind}", _fine_gray(analyses.fine_gray.variance), sub,
                    covariates=cv)
    return cox_fits


def fit_ps_models(ctx: FitContext, adjusted: pd.DataFrame, analyses, method: str) -> None:
    """Exposure-only Cox and Fine-Gray on the matched or weighted table, robust variance."""
    kw = {"weights": WEIGHT} if WEIGHT in adjusted else {}
    if MATCHED_SET in adjusted:
        kw["cluster"] = MATCHED_SET
    ctx.step(f"{method} Cox and Fine-Gray")
    # the fits' own notes (other causes censored, number of clusters) are not reported for these
    # models, as in earlier versions, so that reruns of earlier reports stay identical
    if MATCHED_SET in adjusted and analyses.confounding.outcome_model == "conditional":
        # conditional model: one baseline hazard per matched set (CohortMethod's default), model variance
        cox_kw = {k: v for k, v in kw.items() if k != "cluster"}
        ctx.add("cox_ps", _cox(analyses), adjusted, covariates=[EXPOSURE], strata=MATCHED_SET,
                report_notes=False, **cox_kw)
    else:
        ctx.add("cox_ps", _cox(analyses), adjusted, covariates=[EXPOSURE],
                robust=True, report_notes=False, **kw)
    ctx.add("fg_ps", _fine_gray("robust"), adjusted, covariates=[EXPOSURE],
            report_notes=False, **kw)


def outcome_ph(ctx: FitContext, cox_fits: dict, settings) -> tuple[pd.DataFrame, bool]:
    """PH test of the outcome's adjusted Cox model (its crude one without), once per fit in a run
    (:func:`cohortstat.analysis.fit_cache.derived`); its notes go to ``ctx.notes``."""
    from cohortstat.analysis.fit_cache import derived

    kind = "adjusted" if "adjusted" in cox_fits else "crude"
    fit = cox_fits.get(kind)
    if fit is None:
        return ph_diagnostics(None, settings, ctx.name, ctx.notes)
    ctx.step("proportional hazards test")

    def compute(full):
        added: list[str] = []
        return (*ph_diagnostics(full, settings, ctx.name, added), tuple(added))

    ph, violated, added = derived(fit, ("ph", ctx.name, repr(settings)), compute, ctx.refits[f"cox_{kind}"])
    ctx.notes.extend(added)
    return ph, violated


def ph_diagnostics(fit, settings, name: str, notes: list) -> tuple[pd.DataFrame, bool]:
    """PH test of a Cox fit: ``(term, chisq, df, p)`` table and whether PH is rejected.

    A test that cannot be computed (e.g. a singular information matrix of the extended model) becomes a
    note; the report goes on without it.
    """
    from cohortstat.models import ph_test

    empty = pd.DataFrame(columns=_PH_COLUMNS)
    if fit is None:
        return empty, False
    try:
        ph = ph_test(fit, transform=settings.transform).reset_index(names="term")
    except _FIT_ERRORS as exc:
        notes.append(f"{name}: proportional-hazards test not computed: {exc}")
        return empty, False
    ph = ph[_PH_COLUMNS]
    check = ph.loc[ph["term"].isin([EXPOSURE_TERM, "GLOBAL"]), "p"]
    violated = bool((check < settings.alpha).any())
    if violated:
        notes.append(f"{name}: proportional hazards rejected at alpha {settings.alpha} (see PH diagnostics)")
    return ph, violated


def groups_not_at_risk(sub: pd.DataFrame, groups) -> list[str]:
    """The groups with no person at risk of the outcome."""
    present = set(sub[GROUP].unique())
    return [g for g in groups if g not in present]
