"""The analyses a study declares, run on its cohort: ``analyze(study, cohort) -> StudyResults``.

Per outcome: person-years and incidence rates per group (exact Poisson CIs), Aalen-Johansen cumulative
incidence by group with Gray's test, crude and adjusted cause-specific Cox, crude and adjusted Fine-Gray,
the proportional-hazards test of the adjusted Cox model, and -- when the study asks for confounding
control -- the exposure-only Cox and Fine-Gray models on the matched or weighted table with robust
variance (clustered on the matched set for matching). Only aggregates leave this module:
:class:`StudyResults` holds no patient-level row, so the report cannot leak one.

Semantic choices (docs/user-guide.md, "What the report computes"):

- covariates of the adjusted models: ``exposure`` then ``age`` (linear), ``female`` (``sex == 2``),
  ``calendar_year`` (linear), ``charlson`` (linear score), then each flag, as declared;
- patients with NaN ``time_<o>`` (prevalent cases of that outcome) are left out of that outcome only;
- person-years = sum of ``time_<o>`` / 365.25;
- the PH test is flagged as violated when the exposure term's p or the GLOBAL p is below
  ``analyses.ph_test.alpha``;
- the E-value uses the rare-outcome approximation (HR ~ RR) when the cumulative incidence of the outcome
  at the end of follow-up is below 15% in both groups, the common-outcome conversion otherwise.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cohortstat.confounding import adjust_for_confounding, covariate_columns
from cohortstat.errors import CohortError, CohortstatWarning
from cohortstat.report.tables import e_value, incidence_rate, table_one

__all__ = ["OutcomeResults", "StudyResults", "analyze", "model_covariates"]

DAYS_PER_YEAR = 365.25
RARE_OUTCOME = 0.15
#: Times (years since follow-up start) at which numbers at risk are reported.
AT_RISK_YEARS = (0, 1, 2, 3, 4, 5, 6, 7, 8)


def model_covariates(study) -> list[str]:
    """Covariates of the adjusted outcome models, ``exposure`` first."""
    return ["exposure", *covariate_columns(study)]


@dataclass(frozen=True, eq=False)
class OutcomeResults:
    """Aggregated results of one outcome (immutable).

    Attributes
    ----------
    name, label : str
    rates : pandas.DataFrame
        ``group, n, events, competing_events, person_years, rate, rate_lower, rate_upper`` (per 1000 PY).
    cif : pandas.DataFrame
        Aalen-Johansen estimate: ``group, time, n_risk, n_event, estimate, se``.
    at_risk : pandas.DataFrame
        ``group, year, n_risk`` at :data:`AT_RISK_YEARS`.
    gray : dict
        ``stat, df, p`` of Gray's test.
    models : pandas.DataFrame
        ``model, term, coef, hr, se, robust_se, ci_lower, ci_upper, z, p, n, n_events, e_value,
        e_value_ci`` for every fitted model (``cox_crude``, ``cox_adjusted``, ``fg_crude``,
        ``fg_adjusted``, ``cox_ps``, ``fg_ps``).
    ph : pandas.DataFrame
        ``term, chisq, df, p`` of the PH test of the adjusted (else crude) Cox model.
    ph_violated : bool
    notes : tuple of str
    """

    name: str
    label: str
    rates: pd.DataFrame = field(repr=False)
    cif: pd.DataFrame = field(repr=False)
    at_risk: pd.DataFrame = field(repr=False)
    gray: dict = field(repr=False)
    models: pd.DataFrame = field(repr=False)
    ph: pd.DataFrame = field(repr=False)
    ph_violated: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class StudyResults:
    """Every aggregate a report shows (immutable); no patient-level data.

    Attributes
    ----------
    study : cohortstat.spec.Study
    groups : tuple of str
        ``(exposed, reference)``.
    labels : dict
        Group name -> label.
    attrition : pandas.DataFrame
    table_one : pandas.DataFrame
    outcomes : tuple of OutcomeResults
    balance : pandas.DataFrame or None
    ps_coef : pandas.DataFrame or None
    preference : pandas.DataFrame or None
        Binned preference-score distribution by group (all rows, and matched rows when matching).
    confounding_method : str
    notes : tuple of str
    engine : str
    """

    study: object = field(repr=False)
    groups: tuple[str, str]
    labels: dict = field(repr=False)
    attrition: pd.DataFrame = field(repr=False)
    table_one: pd.DataFrame = field(repr=False)
    outcomes: tuple[OutcomeResults, ...] = field(repr=False)
    balance: pd.DataFrame | None = field(default=None, repr=False)
    ps_coef: pd.DataFrame | None = field(default=None, repr=False)
    preference: pd.DataFrame | None = field(default=None, repr=False)
    confounding_method: str = "none"
    notes: tuple[str, ...] = ()
    engine: str = "duckdb"

    def to_json_dict(self, min_cell_count: int = 10) -> dict:
        """Every number of the report as JSON-ready data, small counts suppressed (= results.json)."""
        from cohortstat.report.writer import suppress_results

        return suppress_results(self, min_cell_count)

    def table(self) -> pd.DataFrame:
        """One tidy table of every estimate: ``outcome, analysis, group, term, statistic, value``."""
        rows: list[dict] = []

        def add(outcome, analysis, group, term, stat, value):
            rows.append(
                {"outcome": outcome, "analysis": analysis, "group": group, "term": term,
                 "statistic": stat, "value": _plain(value)}
            )

        for o in self.outcomes:
            for r in o.rates.to_dict("records"):
                for stat in ("n", "events", "competing_events", "person_years", "rate", "rate_lower", "rate_upper"):
                    add(o.name, "incidence", r["group"], "", stat, r[stat])
            for stat in ("stat", "df", "p"):
                add(o.name, "gray_test", "", "", stat, o.gray[stat])
            for r in o.models.to_dict("records"):
                for stat in ("coef", "hr", "se", "robust_se", "ci_lower", "ci_upper", "z", "p", "n", "n_events",
                             "e_value", "e_value_ci"):
                    add(o.name, r["model"], "", r["term"], stat, r[stat])
            for r in o.ph.to_dict("records"):
                for stat in ("chisq", "df", "p"):
                    add(o.name, "ph_test", "", r["term"], stat, r[stat])
            for r in o.at_risk.to_dict("records"):
                add(o.name, "at_risk", r["group"], f"year {r['year']}", "n_risk", r["n_risk"])
        return pd.DataFrame(rows, columns=["outcome", "analysis", "group", "term", "statistic", "value"])


def _plain(value):
    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return None if not math.isfinite(v) else v
    return value


def _rates(sub: pd.DataFrame, t: str, e: str, groups) -> pd.DataFrame:
    rows = []
    for g in groups:
        part = sub.loc[sub["group"] == g]
        events = int((part[e] == 1).sum())
        py = float(part[t].sum()) / DAYS_PER_YEAR
        rows.append({"group": g, "n": len(part), "events": events, "competing_events": int((part[e] == 2).sum()),
                     "person_years": py, **incidence_rate(events, py)})
    return pd.DataFrame(rows)


def _at_risk(sub: pd.DataFrame, t: str, groups) -> pd.DataFrame:
    rows = []
    for g in groups:
        times = sub.loc[sub["group"] == g, t].to_numpy(float)
        for y in AT_RISK_YEARS:
            rows.append({"group": g, "year": y, "n_risk": int((times >= y * DAYS_PER_YEAR).sum())})
    return pd.DataFrame(rows)


def _fit(model, notes: list, label: str, *args, **kwargs):
    """Fit a model; cohortstat warnings (e.g. monotone likelihood) become notes of the report."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CohortstatWarning)
        res = model.fit(*args, **kwargs)
    for w in caught:
        if issubclass(w.category, CohortstatWarning):
            notes.append(f"{label}: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return res


def _model_rows(name: str, res, *, rare: bool, exposure_only_evalue: bool = True) -> pd.DataFrame:
    with np.errstate(over="ignore"):  # a monotone-likelihood coefficient gives an infinite CI limit
        tab = res.table().copy()
    tab.insert(0, "model", name)
    tab["n"] = int(res.n)
    tab["n_events"] = int(res.n_events)
    ev = [
        e_value(h, lo, hi, rare=rare) if term == "exposure" else {"e_value": math.nan, "e_value_ci": math.nan}
        for term, h, lo, hi in zip(tab["term"], tab["hr"], tab["ci_lower"], tab["ci_upper"])
    ]
    tab["e_value"] = [d["e_value"] for d in ev]
    tab["e_value_ci"] = [d["e_value_ci"] for d in ev]
    return tab


def _one_outcome(study, name, outcome, table, adjusted_table, groups, method, progress) -> OutcomeResults:
    from cohortstat.models import CoxPH, ph_test

    try:
        from cohortstat.models import FineGray, aalen_johansen, gray_test
    except ImportError:  # DESIGN layout: models/finegray.py and models/nonparametric.py
        from cohortstat.models.finegray import FineGray
        from cohortstat.models.nonparametric import aalen_johansen, gray_test

    t, e = f"time_{name}", f"event_{name}"
    if t not in table or e not in table:
        raise CohortError(f"the analysis table has no {t}/{e} columns; rebuild the cohort with this study")
    sub = table.loc[table[t].notna()].copy()
    sub[e] = sub[e].astype(int)
    notes = []  # (patients not at risk per group are in the cohort notes; a total here would un-suppress them)
    rates = _rates(sub, t, e, groups)
    cif = aalen_johansen(sub, duration=t, event=e, cause=1, group="group")
    gray = gray_test(sub, duration=t, event=e, group="group", cause=1)
    gray = {"stat": float(gray["stat"]), "df": int(gray["df"]), "p": float(gray["p"])}
    last = cif.groupby("group")["estimate"].last() if len(cif) else pd.Series(dtype=float)
    rare = bool((last < RARE_OUTCOME).all())
    covs = model_covariates(study)
    an = study.analyses
    strata = list(an.cox.strata) or None
    robust = an.cox.variance == "robust"
    models = []
    cox_fits = {}
    if int((sub[e] == 1).sum()) == 0:
        notes.append(f"{name}: no outcome event; no model fitted")
    else:
        for kind, cv in (("crude", ["exposure"]), ("adjusted", covs)):
            if getattr(an.cox, kind):
                if progress:
                    progress(f"{name}: Cox {kind}")
                res = _fit(CoxPH(ties=an.cox.ties, cause=1), notes, f"{name} cox_{kind}", sub, duration=t, event=e,
                           covariates=cv, strata=strata, robust=robust)
                cox_fits[kind] = res
                models.append(_model_rows(f"cox_{kind}", res, rare=rare))
                notes.extend(f"{name} cox_{kind}: {n}" for n in res.notes)
            if getattr(an.fine_gray, kind):
                if progress:
                    progress(f"{name}: Fine-Gray {kind}")
                res = _fit(FineGray(cause=1, variance=an.fine_gray.variance), notes, f"{name} fg_{kind}", sub,
                           duration=t, event=e, covariates=cv)
                models.append(_model_rows(f"fg_{kind}", res, rare=rare))
                notes.extend(f"{name} fg_{kind}: {n}" for n in res.notes)
        if adjusted_table is not None:
            adj = adjusted_table.loc[adjusted_table[t].notna()].copy()
            adj[e] = adj[e].astype(int)
            kw = {"weights": "weight"} if "weight" in adj else {}
            if "matched_set" in adj:
                kw["cluster"] = "matched_set"
            if progress:
                progress(f"{name}: {method} Cox and Fine-Gray")
            res = _fit(CoxPH(ties=an.cox.ties, cause=1), notes, f"{name} cox_ps", adj, duration=t, event=e,
                       covariates=["exposure"], robust=True, **kw)
            models.append(_model_rows("cox_ps", res, rare=rare))
            res = _fit(FineGray(cause=1, variance="robust"), notes, f"{name} fg_ps", adj, duration=t, event=e,
                       covariates=["exposure"], **kw)
            models.append(_model_rows("fg_ps", res, rare=rare))
    model_tab = pd.concat(models, ignore_index=True) if models else pd.DataFrame(
        columns=["model", "term", "coef", "hr", "se", "robust_se", "ci_lower", "ci_upper", "z", "p", "n",
                 "n_events", "e_value", "e_value_ci"])
    ph = pd.DataFrame(columns=["term", "chisq", "df", "p"])
    violated = False
    fit = cox_fits.get("adjusted") or cox_fits.get("crude")
    if fit is not None:
        ph = ph_test(fit, transform=an.ph_test.transform).reset_index(names="term")
        ph = ph[["term", "chisq", "df", "p"]]
        check = ph.loc[ph["term"].isin(["exposure", "GLOBAL"]), "p"]
        violated = bool((check < an.ph_test.alpha).any())
        if violated:
            notes.append(f"{name}: proportional hazards rejected at alpha {an.ph_test.alpha} (see PH diagnostics)")
    return OutcomeResults(
        name=name, label=outcome.label, rates=rates, cif=cif, at_risk=_at_risk(sub, t, groups), gray=gray,
        models=model_tab, ph=ph, ph_violated=violated, notes=tuple(notes),
    )


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
    """
    table = cohort.table
    exposed, reference = study.comparison.exposed, study.comparison.reference
    groups = (exposed, reference)
    if len(table) == 0:
        raise CohortError("the cohort is empty: no patient meets the entry and inclusion rules")
    table = table.copy()
    if "sex" in table:
        table["female"] = (table["sex"] == 2).astype(int)
    labels = {g: study.cohorts[g].label for g in groups}
    if progress:
        progress("Table 1")
    flags = [f.name for f in study.covariates.flags]
    t1 = table_one(table, exposed=exposed, reference=reference, flags=flags)
    method = study.analyses.confounding.method
    adjusted_table = balance = ps_coef = preference = None
    notes = list(cohort.notes)
    attrition = cohort.attrition
    if method != "none":
        if progress:
            progress(f"confounding: {method}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CohortstatWarning)
            conf = adjust_for_confounding(table, study)
        for w in caught:  # imbalance after adjustment: shown in the balance section and as a note
            if issubclass(w.category, CohortstatWarning):
                notes.append(f"confounding: {w.message}")
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        adjusted_table, balance, ps_coef = conf.table, conf.balance, conf.ps_coef
        preference = conf.preference
        notes.extend(conf.notes)
        if conf.attrition_rows:
            extra = pd.DataFrame(conf.attrition_rows)
            extra.insert(0, "step", int(attrition["step"].max()) + 1 + np.arange(len(extra)))
            attrition = pd.concat([attrition, extra], ignore_index=True)
    outcomes = []
    for name, outcome in study.outcomes.items():
        outcomes.append(_one_outcome(study, name, outcome, table, adjusted_table, groups, method, progress))
    return StudyResults(
        study=study, groups=groups, labels=labels, attrition=attrition.reset_index(drop=True), table_one=t1,
        outcomes=tuple(outcomes), balance=balance, ps_coef=ps_coef, preference=preference, confounding_method=method,
        notes=tuple(notes), engine=getattr(cohort, "engine", "duckdb"),
    )
