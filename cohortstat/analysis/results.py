"""Immutable results of a study's analyses: :class:`OutcomeResults` per outcome, :class:`StudyResults`.

Only aggregates live here: no patient-level row, so nothing downstream (report, JSON, site packages)
can leak one. Suppression of small counts is the report's job (``cohortstat.report``), which reads these
objects; this module never imports the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cohortstat.analysis.estimates import estimates_table

__all__ = ["OutcomeResults", "StudyResults"]

_TABLE_COLUMNS = ["outcome", "analysis", "group", "term", "statistic", "value"]
_RATE_STATS = ("n", "events", "competing_events", "person_years", "rate", "rate_lower", "rate_upper")
_WEIGHTED_RATE_STATS = ("weighted_events", "weighted_person_years", "rate", "rate_lower", "rate_upper")
_MODEL_STATS = ("coef", "hr", "se", "robust_se", "ci_lower", "ci_upper", "z", "p", "n", "n_events", "e_value",
                "e_value_ci")


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
        ``group, year, n_risk`` at :data:`cohortstat.constants.AT_RISK_YEARS`.
    gray : dict
        ``stat, df, p`` of Gray's test (NaN when it could not be computed; see ``notes``).
    models : pandas.DataFrame
        ``model, term, coef, hr, se, robust_se, ci_lower, ci_upper, z, p, n, n_events, e_value,
        e_value_ci`` for every fitted model (``cox_crude``, ``cox_adjusted``, ``fg_crude``,
        ``fg_adjusted``, ``cox_ps``, ``fg_ps``).
    ph : pandas.DataFrame
        ``term, chisq, df, p`` of the PH test of the adjusted (else crude) Cox model.
    ph_violated : bool
    notes : tuple of str
    model_events : pandas.DataFrame or None
        ``model, events_exposed, events_reference``: outcome events per group in the sample each model
        was fitted on (counts of persons: suppress them like every count before showing them).
    infinite : tuple of (str, str)
        ``(model, term)`` of every estimate that may be infinite (monotone likelihood: the fit flagged
        the term; its finite HR and CI are only the point where the iterations stopped).
    effects : pandas.DataFrame or None
        Subgroup and period-specific hazard ratios with their interaction / heterogeneity tests
        (:mod:`cohortstat.analysis.effects`); None when the study asks for none.
    curves : cohortstat.analysis.curves.OutcomeCurves or None
        Cumulative incidence of the outcome and of death with 95% limits, numbers at risk and fixed
        times, in the analysed (matched or weighted) population (:mod:`cohortstat.analysis.curves`).
    analysed_rates : cohortstat.analysis.analysed_rates.AnalysedRates or None
        Incidence rates per group in the matched or weighted population (None without propensity-score
        adjustment; :mod:`cohortstat.analysis.analysed_rates`).
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
    model_events: pd.DataFrame | None = field(default=None, repr=False)
    infinite: tuple[tuple[str, str], ...] = ()
    effects: pd.DataFrame | None = field(default=None, repr=False)
    curves: object | None = field(default=None, repr=False)
    analysed_rates: object | None = field(default=None, repr=False)


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
    controls : tuple of OutcomeResults
        Negative-control outcomes (``nc_<concept set>``), analysed like outcomes; their exposure
        estimates calibrate those of the outcomes (:mod:`cohortstat.analysis.estimates`).
    table_one_adjusted : pandas.DataFrame or None
        Table 1 of the analysed population (matched sample, or weighted cohort with weighted percentages
        and means) when the study adjusts by propensity score.
    variants : tuple of (str, StudyResults)
        Results of each sensitivity variant (:mod:`cohortstat.analysis.variants`), in study order.
    sir : pandas.DataFrame or None
        Standardized incidence ratios per outcome and group (:mod:`cohortstat.analysis.sir`); None
        without ``reference_rates``. ``observed_events`` is a count (suppress it like every count).
    diagnostics : StudyDiagnostics or None
        Equipoise, MDRR, follow-up distribution, Fine-Gray CIF sums (:mod:`cohortstat.analysis.diagnostics`).
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
    variants: tuple[tuple[str, StudyResults], ...] = field(default=(), repr=False)
    controls: tuple[OutcomeResults, ...] = field(default=(), repr=False)
    sir: pd.DataFrame | None = field(default=None, repr=False)
    diagnostics: object | None = field(default=None, repr=False)
    table_one_adjusted: pd.DataFrame | None = field(default=None, repr=False)

    def summary(self) -> str:
        """A text summary (groups, cohort size, exposure hazard ratios); see :mod:`cohortstat.display`."""
        from cohortstat.display import study_summary

        return study_summary(self)

    def _repr_html_(self) -> str:
        from cohortstat.display import study_html

        return study_html(self)

    def estimates(self) -> pd.DataFrame:
        """One tidy row per model term: the estimates table (``tables/estimates.csv``).

        Rows of the main analysis (``analysis == "main"``) first, then those of each sensitivity
        variant (``analysis`` = its name). See :func:`cohortstat.analysis.estimates.estimates_table`
        for the columns. Counts (``events_exposed``, ``events_reference``) are not suppressed here.
        """
        tables = [estimates_table(self)] + [estimates_table(r, analysis=n) for n, r in self.variants]
        full = [t for t in tables if len(t)]
        if len(full) <= 1:
            return full[0] if full else tables[0]
        return pd.concat(full, ignore_index=True)

    def table(self) -> pd.DataFrame:
        """Every number of the results in long form: ``outcome, analysis, group, term, statistic, value``.

        ``analysis`` is ``incidence`` (``incidence_matched``, ``incidence_weighted``: the analysed
        population), ``gray_test``, a model name, ``ph_test`` or ``at_risk``. Counts are
        not suppressed. For one row per estimate with its CI use :meth:`estimates`.
        """
        rows: list[dict] = []

        def add(outcome, analysis, group, term, stat, value):
            rows.append({"outcome": outcome, "analysis": analysis, "group": group, "term": term,
                         "statistic": stat, "value": _plain(value)})

        for o in self.outcomes:
            for r in o.rates.to_dict("records"):
                for stat in _RATE_STATS:
                    add(o.name, "incidence", r["group"], "", stat, r[stat])
            for r, stat in _analysed_rate_cells(o):
                add(o.name, f"incidence_{o.analysed_rates.population}", r["group"], "", stat, r[stat])
            for stat in ("stat", "df", "p"):
                add(o.name, "gray_test", "", "", stat, o.gray[stat])
            for r in o.models.to_dict("records"):
                for stat in _MODEL_STATS:
                    add(o.name, r["model"], "", r["term"], stat, r[stat])
            for r in o.ph.to_dict("records"):
                for stat in ("chisq", "df", "p"):
                    add(o.name, "ph_test", "", r["term"], stat, r[stat])
            for r in o.at_risk.to_dict("records"):
                add(o.name, "at_risk", r["group"], f"year {r['year']}", "n_risk", r["n_risk"])
        return pd.DataFrame(rows, columns=_TABLE_COLUMNS)


def _analysed_rate_cells(o: OutcomeResults):
    """``(row, statistic)`` of the analysed-population rates (matched counts, or weighted sums)."""
    ar = getattr(o, "analysed_rates", None)
    if ar is None:
        return
    stats = _RATE_STATS if ar.population == "matched" else _WEIGHTED_RATE_STATS
    for r in ar.table.to_dict("records"):
        for stat in stats:
            yield r, stat


def _plain(value):
    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return None if not math.isfinite(v) else v
    return value
