"""The tidy estimates table: one row per estimate of a run, in fixed columns.

Columns (:data:`cohortstat.constants.ESTIMATE_COLUMNS`):

- ``analysis``: ``main`` (or the name of a sensitivity variant); ``outcome``; ``subgroup``, ``level``,
  ``period``: empty for estimates on the whole cohort and the whole follow-up;
- ``model``: ``cox`` (cause-specific Cox) or ``fine_gray``; ``adjustment``: ``crude``, ``adjusted``
  (covariates in the outcome model), ``matched`` or ``weighted`` (propensity-score matched / weighted
  sample, exposure-only model with robust variance); ``term``: the model term (``exposure`` and, for
  adjusted models, each covariate);
- ``estimate_type``: ``hr`` (hazard ratio), ``shr`` (subdistribution hazard ratio) or ``sir``
  (standardized incidence ratio); ``estimate``, ``ci_lower``, ``ci_upper`` (95%), ``p``;
- standardized incidence ratios (:mod:`cohortstat.analysis.sir`, with ``reference_rates``): one row per
  outcome and group after the models, ``model`` ``sir``, ``adjustment`` ``standardized``, ``term`` the
  group, exact Poisson CI and p; the observed events in ``events_exposed`` (exposed group's row) or
  ``events_reference`` (reference group's row), the other left empty;
- ``calibrated_ci_lower``, ``calibrated_ci_upper``, ``calibrated_p``: after empirical calibration on
  negative controls (NaN when the study has none);
- ``events_exposed``, ``events_reference``: outcome events per group in the sample the model was fitted
  on. They are counts of persons: the report suppresses them below the minimum cell count
  (:data:`cohortstat.constants.ESTIMATE_COUNT_COLUMNS`);
- subgroup rows (``subgroup`` = the variable, ``level`` = its level) and period rows (``period`` =
  ``start-end`` in days since the follow-up anchor) come from :mod:`cohortstat.analysis.effects`; the
  test of no effect modification is a row with ``term`` ``interaction`` (per subgroup variable) or
  ``heterogeneity`` (periods) holding only ``p``;
- ``infinite``: True when the fit flagged the term's estimate as possibly infinite (monotone likelihood,
  e.g. no event in one group): its HR and CI are where the iterations stopped, not an estimate.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cohortstat.constants import ESTIMATE_COLUMNS, MAIN_ANALYSIS

__all__ = ["SIR_ADJUSTMENT", "SIR_MODEL", "estimates_table", "model_kind"]

#: ``model`` and ``adjustment`` of a standardized-incidence-ratio row (indirect standardization by age
#: band and sex, and calendar year when the rates have it).
SIR_MODEL, SIR_ADJUSTMENT = "sir", "standardized"

#: ``OutcomeResults.models`` model name -> (model, adjustment or None for the PS sample, estimate type)
_MODELS = {
    "cox_crude": ("cox", "crude", "hr"),
    "cox_adjusted": ("cox", "adjusted", "hr"),
    "cox_ps": ("cox", None, "hr"),
    "fg_crude": ("fine_gray", "crude", "shr"),
    "fg_adjusted": ("fine_gray", "adjusted", "shr"),
    "fg_ps": ("fine_gray", None, "shr"),
}
_PS_ADJUSTMENT = {"matching": "matched", "iptw": "weighted", "overlap": "weighted"}


def model_kind(model: str, confounding_method: str = "none") -> tuple[str, str, str]:
    """``(model, adjustment, estimate_type)`` of a model name of ``OutcomeResults.models``."""
    kind, adjustment, estimate_type = _MODELS[model]
    if adjustment is None:
        adjustment = _PS_ADJUSTMENT[confounding_method]
    return kind, adjustment, estimate_type


def _events(outcome, model: str) -> tuple[object, object]:
    ev = outcome.model_events
    if ev is None or not len(ev):
        return pd.NA, pd.NA
    row = ev.loc[ev["model"] == model]
    if not len(row):
        return pd.NA, pd.NA
    return int(row["events_exposed"].iloc[0]), int(row["events_reference"].iloc[0])


def _rows(outcome, confounding_method: str, analysis: str) -> list[dict]:
    rows = []
    infinite = set(getattr(outcome, "infinite", ()))
    for r in outcome.models.to_dict("records"):
        kind, adjustment, estimate_type = model_kind(r["model"], confounding_method)
        e1, e0 = _events(outcome, r["model"])
        rows.append({
            "analysis": analysis, "outcome": outcome.name, "subgroup": "", "level": "", "period": "",
            "model": kind, "adjustment": adjustment, "term": r["term"], "estimate_type": estimate_type,
            "estimate": float(r["hr"]), "ci_lower": float(r["ci_lower"]), "ci_upper": float(r["ci_upper"]),
            "p": float(r["p"]), "calibrated_ci_lower": math.nan, "calibrated_ci_upper": math.nan,
            "calibrated_p": math.nan, "events_exposed": e1, "events_reference": e0,
            "infinite": (r["model"], r["term"]) in infinite,
        })
    return rows


def _effect_rows(outcome, analysis: str) -> list[dict]:
    effects = getattr(outcome, "effects", None)
    if effects is None:
        return []
    rows = []
    for r in effects.to_dict("records"):
        rows.append({**r, "analysis": analysis, "outcome": outcome.name, "model": "cox", "estimate_type": "hr",
                     "calibrated_ci_lower": math.nan, "calibrated_ci_upper": math.nan, "calibrated_p": math.nan})
    return rows


def _sir_rows(results, analysis: str) -> list[dict]:
    """One row per outcome and group of the standardized incidence ratios (``term`` = the group; its
    observed events in the group's events column)."""
    sir = getattr(results, "sir", None)
    if sir is None or not len(sir):
        return []
    exposed = results.groups[0]
    rows = []
    for r in sir.to_dict("records"):
        observed = int(r["observed_events"])
        rows.append({
            "analysis": analysis, "outcome": r["outcome"], "subgroup": "", "level": "", "period": "",
            "model": SIR_MODEL, "adjustment": SIR_ADJUSTMENT, "term": r["group"], "estimate_type": "sir",
            "estimate": float(r["sir"]), "ci_lower": float(r["ci_lower"]), "ci_upper": float(r["ci_upper"]),
            "p": float(r["p"]), "calibrated_ci_lower": math.nan, "calibrated_ci_upper": math.nan,
            "calibrated_p": math.nan, "events_exposed": observed if r["group"] == exposed else pd.NA,
            "events_reference": pd.NA if r["group"] == exposed else observed, "infinite": False,
        })
    return rows


def _log_se(outcome, model: str) -> tuple[float, float]:
    """Log hazard ratio of the exposure and its SE (robust when the model has one) in ``model``."""
    m = outcome.models
    row = m.loc[(m["model"] == model) & (m["term"] == "exposure")]
    if not len(row) or (outcome.name, model) in set(getattr(outcome, "infinite", ())):
        return math.nan, math.nan
    r = row.iloc[0]
    se = r["robust_se"] if pd.notna(r["robust_se"]) else r["se"]
    return float(r["coef"]), float(se)


def _calibrate(table: pd.DataFrame, results, controls) -> None:
    """Calibrated p-values and CIs of the outcomes' exposure rows (in place), model by model.

    For each model (e.g. adjusted Cox), the empirical null is fitted to the exposure estimates of the
    negative controls in that model (:func:`cohortstat.models.calibration.fit_null`; controls with an
    infinite estimate are left out); when fewer than 5 remain, the calibrated columns stay NaN.
    """
    from cohortstat.errors import ConvergenceError, ModelInputError
    from cohortstat.models.calibration import calibrate_ci, calibrate_p, fit_null

    models = dict.fromkeys(m for o in results.outcomes for m in o.models["model"]) if results.outcomes else {}
    for model in models:
        y, s = zip(*(_log_se(c, model) for c in controls)) if controls else ((), ())
        try:
            null = fit_null(np.asarray(y), np.asarray(s))
        except (ModelInputError, ConvergenceError):
            continue
        kind, adjustment, _ = model_kind(model, results.confounding_method)
        for o in results.outcomes:
            ly, ls = _log_se(o, model)
            if not math.isfinite(ly):
                continue
            ci = calibrate_ci(null, [ly], [ls]).iloc[0]
            mask = ((table["outcome"] == o.name) & (table["model"] == kind) & (table["adjustment"] == adjustment)
                    & (table["term"] == "exposure") & (table["subgroup"] == "") & (table["period"] == ""))
            table.loc[mask, "calibrated_ci_lower"] = float(ci["ci_lower"])
            table.loc[mask, "calibrated_ci_upper"] = float(ci["ci_upper"])
            table.loc[mask, "calibrated_p"] = float(calibrate_p(null, [ly], [ls])[0])


def estimates_table(results, analysis: str = MAIN_ANALYSIS) -> pd.DataFrame:
    """Every model estimate of a :class:`~cohortstat.analysis.results.StudyResults` as one tidy table.

    Parameters
    ----------
    results : StudyResults
    analysis : str, default "main"
        Value of the ``analysis`` column (the variant name for a sensitivity analysis).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`cohortstat.constants.ESTIMATE_COLUMNS` (see the module docstring), one row per
        model term, outcomes in study order, models in fitting order. Event counts are not suppressed.
    """
    rows = []
    for outcome in results.outcomes:
        rows += _rows(outcome, results.confounding_method, analysis)
        rows += _effect_rows(outcome, analysis)
    controls = getattr(results, "controls", ())
    for outcome in controls:
        rows += _rows(outcome, results.confounding_method, analysis)
    rows += _sir_rows(results, analysis)
    out = pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS))
    if controls:
        _calibrate(out, results, controls)
    for c in ("events_exposed", "events_reference"):
        out[c] = out[c].astype("Int64")
    return out
