"""Study diagnostics a reviewer expects, computed in every run (:class:`StudyDiagnostics`).

- **equipoise** (when a propensity score is fitted): share of persons of both groups whose preference
  score (Walker et al. 2013) lies in [0.3, 0.7] (:func:`cohortstat.models.diagnostics.preference_score`;
  CohortMethod calls a comparison in empirical equipoise when the share is at least 0.5);
- **minimum detectable relative risk** per outcome (alpha 0.05 two-sided, power 0.8; Schoenfeld 1983,
  as CohortMethod ``computeMdrr``): D = persons with the outcome, p = exposed share of the outcome's
  sample;
- **follow-up** per outcome and group: median and quartiles of ``time_<o>`` (days; R ``quantile``
  type 7) and person-years; no minimum or maximum (one person's follow-up) and no count;
- **sum of predicted Fine-Gray cumulative incidences** per outcome: the study's Fine-Gray model of the
  outcome (adjusted when fitted, else crude) and the same model for death as the cause, each person's
  predicted CIFs at the last event time of either model added up (each CIF only grows with time, so
  no earlier time has a larger sum; persons with a missing covariate, whom the models leave out, are
  not predicted either); a sum above 1 flags the pair of models as mutually inconsistent (Austin, Steyerberg & Putter
  2021) and becomes a note of the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cohortstat.constants import (
    COMPETING_EVENT,
    DAYS_PER_YEAR,
    EXPOSURE,
    GROUP,
    OUTCOME_EVENT,
    event_column,
    time_column,
)
from cohortstat.errors import ConvergenceError, ModelInputError

__all__ = ["EQUIPOISE_BOUNDS", "StudyDiagnostics", "study_diagnostics"]

EQUIPOISE_BOUNDS = (0.3, 0.7)
MDRR_ALPHA, MDRR_POWER = 0.05, 0.8
FOLLOW_UP_COLUMNS = ("outcome", "group", "median_days", "q25_days", "q75_days", "person_years")
MDRR_COLUMNS = ("outcome", "mdrr", "se")
CIF_SUM_COLUMNS = ("outcome", "model", "max_sum", "exceeds")
_FIT_ERRORS = (ModelInputError, ConvergenceError, np.linalg.LinAlgError)


@dataclass(frozen=True, eq=False)
class StudyDiagnostics:
    """Diagnostics of one analysis (immutable; aggregates only).

    Attributes
    ----------
    equipoise : float or None
        Share of persons with preference score in :data:`EQUIPOISE_BOUNDS`; None without a PS.
    equipoise_counts : tuple of int or None
        ``(inside, total)`` persons behind ``equipoise`` (counts: the report hides the share when one of
        ``inside`` and ``total - inside`` is below the minimum cell count).
    mdrr : pandas.DataFrame
        :data:`MDRR_COLUMNS`, one row per outcome with an event.
    follow_up : pandas.DataFrame
        :data:`FOLLOW_UP_COLUMNS`, one row per outcome and group.
    cif_sum : pandas.DataFrame
        :data:`CIF_SUM_COLUMNS`, one row per outcome whose Fine-Gray models could be fitted.
    notes : tuple of str
    """

    equipoise: float | None = None
    equipoise_counts: tuple[int, int] | None = None
    mdrr: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(MDRR_COLUMNS)), repr=False)
    follow_up: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(FOLLOW_UP_COLUMNS)),
                                    repr=False)
    cif_sum: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(CIF_SUM_COLUMNS)), repr=False)
    notes: tuple[str, ...] = ()


def _equipoise(conf) -> tuple[float | None, tuple[int, int] | None]:
    from cohortstat.models.diagnostics import preference_score

    ps = getattr(conf, "propensity", None) if conf is not None else None
    if ps is None:
        return None, None
    p = np.asarray(ps.ps, dtype=float)
    p = p[np.isfinite(p)]
    if not p.size or not 0.0 < float(ps.treated_fraction) < 1.0:
        return None, None
    pref = preference_score(p, float(ps.treated_fraction))
    lo, hi = EQUIPOISE_BOUNDS
    inside = int(((pref >= lo) & (pref <= hi)).sum())
    return inside / p.size, (inside, int(p.size))


def _mdrr(name: str, sub: pd.DataFrame) -> dict | None:
    from cohortstat.models.diagnostics import mdrr_table

    x = sub[EXPOSURE].to_numpy()
    if not len(sub) or x.min() == x.max():
        return None
    row = mdrr_table(sub, EXPOSURE, {name: event_column(name)}, cause=OUTCOME_EVENT, alpha=MDRR_ALPHA,
                     power=MDRR_POWER).iloc[0]
    return {"outcome": name, "mdrr": float(row["mdrr"]), "se": float(row["se"])}


def _follow_up(name: str, sub: pd.DataFrame, groups) -> list[dict]:
    t = time_column(name)
    rows = []
    for g in groups:
        v = sub.loc[sub[GROUP] == g, t].to_numpy(float)
        if not v.size:
            continue
        q25, med, q75 = np.quantile(v, [0.25, 0.5, 0.75])
        rows.append({"outcome": name, "group": g, "median_days": float(med), "q25_days": float(q25),
                     "q75_days": float(q75), "person_years": float(v.sum() / DAYS_PER_YEAR)})
    return rows


def _fg(cause: int, variance: str):
    from cohortstat.models import FineGray

    other = COMPETING_EVENT if cause == OUTCOME_EVENT else OUTCOME_EVENT
    return FineGray(cause=cause, variance=variance, competing=(other,))


def _cif_at(res, sub: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """Each person's predicted CIF of ``res``'s cause at ``grid`` (persons x times)."""
    from cohortstat.models.diagnostics import cif_on_grid

    lp = res.design.matrix(sub) @ res.coef.to_numpy()
    base = res.baseline
    cumhaz = cif_on_grid(base["time"].to_numpy(float), base["cumhaz"].to_numpy(float), grid)
    return 1.0 - np.exp(-np.exp(lp)[:, None] * cumhaz[None, :])


def _cif_sum(name: str, sub: pd.DataFrame, analyses, covariates, notes: list) -> dict | None:
    from cohortstat.analysis.fit_cache import fit_recorded
    from cohortstat.models.diagnostics import check_cif_sum

    settings = analyses.fine_gray
    kind = "adjusted" if settings.adjusted else "crude" if settings.crude else None
    if kind is None or not (sub[event_column(name)] == COMPETING_EVENT).any():
        return None
    cv = list(covariates) if kind == "adjusted" else [EXPOSURE]
    kw = {"duration": time_column(name), "event": event_column(name), "covariates": cv}
    try:
        fits = [fit_recorded(_fg(c, settings.variance), sub, kw)[0] for c in (OUTCOME_EVENT, COMPETING_EVENT)]
    except _FIT_ERRORS:
        return None  # the outcome's own model failing is already a note of the report
    if any(getattr(f, "strata", None) is not None or getattr(f, "time_varying", False) for f in fits):
        return None
    if not all(np.isfinite(f.coef.to_numpy(float)).all() and len(f.baseline) for f in fits):
        return None  # a coefficient running to infinity (already a note of the outcome): no prediction
    # each CIF only grows with time, so the sums are largest at the last event time of either model
    grid = np.array([max(float(f.baseline["time"].max()) for f in fits)])
    complete = sub[cv].dropna()  # the persons the models were fitted on (rows with a missing covariate dropped)
    cifs = [_cif_at(f, complete, grid) for f in fits]
    if not all(np.isfinite(c).all() for c in cifs):  # e.g. a covariate value the fit never saw overflows
        notes.append(f"{name}: the sum of the predicted Fine-Gray cumulative incidences (fg_{kind}) could not be "
                     "checked: some predictions are not finite")
        return None
    check = check_cif_sum(cifs)
    if check.exceeds:
        notes.append(f"{name}: the predicted Fine-Gray cumulative incidences of the outcome and of death (fg_{kind}) "
                     "sum to more than one for some persons: the two subdistribution models are mutually "
                     "inconsistent (see the diagnostics table)")
    return {"outcome": name, "model": f"fg_{kind}", "max_sum": check.max_sum, "exceeds": bool(check.exceeds)}


def _frame(rows: list[dict], columns) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def _outcome_diagnostics(name: str, sub: pd.DataFrame, groups, analyses, covariates) -> tuple[dict, list]:
    """Follow-up distribution, MDRR and CIF-sum check of one outcome (none depends on the confounding
    method): ``({"follow": rows, "mdrr": rows, "cif": rows}, notes)``."""
    rows: dict = {"follow": _follow_up(name, sub, groups), "mdrr": [], "cif": []}
    notes: list[str] = []
    if (sub[event_column(name)] == OUTCOME_EVENT).any():
        if (row := _mdrr(name, sub)) is not None:
            rows["mdrr"].append(row)
        if (row := _cif_sum(name, sub, analyses, covariates, notes)) is not None:
            rows["cif"].append(row)
    return rows, notes


def study_diagnostics(study, table: pd.DataFrame, conf, covariates, owner=None) -> StudyDiagnostics:
    """The diagnostics of a study's analysis (see the module docstring).

    Parameters
    ----------
    study : cohortstat.spec.Study
    table : pandas.DataFrame
        The analysis table (with ``female``), as the outcome models see it.
    conf : ConfoundingResult or None
    covariates : sequence of str
        Covariates of the adjusted models, ``exposure`` first.
    owner : object, optional
        The cohort ``table`` was made from: within a run the per-outcome diagnostics of one cohort
        and the same settings are computed once (:func:`cohortstat.analysis.fit_cache.cached_for`).
    """
    from cohortstat.analysis.outcomes import outcome_sample

    from cohortstat.analysis.fit_cache import cached_for

    groups = (study.comparison.exposed, study.comparison.reference)
    equipoise, counts = _equipoise(conf)
    mdrr, follow, cif, notes = [], [], [], []
    for name in study.outcomes:
        def compute(name=name):
            return _outcome_diagnostics(name, outcome_sample(table, name), groups, study.analyses, covariates)

        key = ("diagnostics", name, repr(study.covariates), repr(study.analyses.fine_gray), tuple(covariates), groups)
        rows, added = cached_for(owner, key, compute)  # (computed every time without an owner)
        follow += rows["follow"]
        mdrr += rows["mdrr"]
        cif += rows["cif"]
        notes += added
    return StudyDiagnostics(equipoise=equipoise, equipoise_counts=counts, mdrr=_frame(mdrr, MDRR_COLUMNS),
                            follow_up=_frame(follow, FOLLOW_UP_COLUMNS), cif_sum=_frame(cif, CIF_SUM_COLUMNS),
                            notes=tuple(notes))
