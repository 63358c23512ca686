"""Subgroup and period-specific hazard ratios of one outcome (``analyses.subgroups``, ``analyses.periods``).

Semantic choices (docs/study-file.md, ``analyses``):

- the model is the study's Cox model: adjusted (the adjusted model's covariates, common across levels)
  when ``analyses.cox.adjusted`` is on, else crude; the same strata; the cause-specific hazard of the
  outcome (other causes censored);
- ``age_band``: age at index cut at ``analyses.age_bands`` (default 50, 65, 80: ``<50``, ``50-64``,
  ``65-79``, ``>=80``); age itself stays a linear covariate within bands; ``sex``: ``female``/``male``
  (the ``female`` covariate leaves the model: it is the subgroup); a flag: levels 0 and 1;
- per level: the hazard ratio of the by-level model and, on a row of its own (``term`` =
  ``interaction``), the likelihood-ratio p-value of no effect modification
  (:func:`cohortstat.models.subgroups.subgroup_hazard_ratios`);
- periods are ``[start, end)`` in days since the follow-up anchor (admission or discharge, plus the
  offset): follow-up begins at the end of blanking (late entry); per period the hazard ratio, and a row
  ``term`` = ``heterogeneity`` with the likelihood-ratio p-value of one common hazard ratio
  (:func:`cohortstat.models.periods.period_hazard_ratios`);
- a subgroup or period model that cannot be fitted (a level without events, ...) becomes a note.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd

from cohortstat.constants import EXPOSURE, FEMALE, OUTCOME_EVENT, SEX, SEX_FEMALE
from cohortstat.errors import CohortstatWarning, ConvergenceError, ModelInputError
from cohortstat.models._effect_modification import column_frame

__all__ = ["DEFAULT_AGE_BANDS", "EFFECT_COLUMNS", "age_band_labels", "effect_columns", "effect_modification"]

#: Default cut points of ``age_band`` (years).
DEFAULT_AGE_BANDS = (50, 65, 80)
EFFECT_COLUMNS = ["subgroup", "level", "period", "adjustment", "term", "estimate", "ci_lower", "ci_upper", "p",
                  "events_exposed", "events_reference", "infinite"]
_ERRORS = (ModelInputError, ConvergenceError, np.linalg.LinAlgError)
_SG = "__subgroup_level"


def age_band_labels(age, cuts) -> np.ndarray:
    """Band label of each age: ``<c0``, ``c0-(c1-1)``, ..., ``>=ck``."""
    cuts = list(cuts)
    labels = [f"<{cuts[0]}"] + [f"{a}-{b - 1}" for a, b in zip(cuts, cuts[1:])] + [f">={cuts[-1]}"]
    k = np.searchsorted(np.asarray(cuts, float), np.asarray(age, float), side="right")
    return np.asarray(labels, dtype=object)[k]


def _levels(table: pd.DataFrame, name: str, analyses) -> pd.Series:
    if name == "age_band":
        return pd.Series(_age_bands(table["age"], analyses.age_bands or DEFAULT_AGE_BANDS), index=table.index)
    if name == SEX:
        # a categorical: its levels sort as the text would, without one string per row
        sex = pd.Categorical.from_codes(np.where(table[SEX] == SEX_FEMALE, 0, 1), categories=["female", "male"])
        return pd.Series(sex, index=table.index)
    return table[name].astype(int).astype(str)


def _age_bands(age, cuts) -> pd.Categorical:
    """:func:`age_band_labels` as a categorical of the bands present, in age order (from the band codes)."""
    labels = age_band_labels([-math.inf, *cuts], cuts)  # one label per band, in order
    k = np.searchsorted(np.asarray(cuts, float), np.asarray(age, float), side="right")
    present = np.flatnonzero(np.bincount(k, minlength=len(labels)))
    code = np.full(len(labels), -1, dtype=np.int64)
    code[present] = np.arange(len(present))
    return pd.Categorical.from_codes(code[k], categories=list(labels[present]))


def _row(**kw) -> dict:
    base = {c: "" for c in ("subgroup", "level", "period")}
    base.update({"estimate": math.nan, "ci_lower": math.nan, "ci_upper": math.nan, "p": math.nan,
                 "events_exposed": pd.NA, "events_reference": pd.NA, "infinite": False})
    base.update(kw)
    return base


def _fit(fn, label: str, notes: list, *args, **kwargs):
    """Call a subgroup / period fit; its cohortstat warnings become notes; returns (result, infinite levels)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CohortstatWarning)
        res = fn(*args, **kwargs)
    infinite = set()
    for w in caught:
        if issubclass(w.category, CohortstatWarning):
            notes.append(f"{label}: {w.message}")
            infinite |= {int(k) for k in re.findall(r"__exposure_at_(\d+)", str(w.message))}
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return res, infinite


def _level_rows(tab: pd.DataFrame, key: str, values, adjustment: str, infinite=(), **fixed) -> list[dict]:
    return [_row(**fixed, **{key: v}, adjustment=adjustment, term="exposure", estimate=float(r["hr"]),
                 ci_lower=float(r["ci_lower"]), ci_upper=float(r["ci_upper"]), p=float(r["p"]),
                 events_exposed=int(r["events_exposed"]), events_reference=int(r["events_reference"]),
                 infinite=k in infinite)
            for k, (v, r) in enumerate(zip(values, tab.to_dict("records")))]


def _subgroups(sub, name, analyses, covs, strata, adjustment, notes) -> list[dict]:
    from cohortstat.models.subgroups import subgroup_hazard_ratios

    rows = []
    for var in analyses.subgroups:
        work = column_frame(sub, sub.columns, {_SG: _levels(sub, var, analyses).array})
        cv = [c for c in covs if c != var and not (var == SEX and c == FEMALE)]
        try:
            res, inf = _fit(subgroup_hazard_ratios, f"{name} subgroup {var}", notes, work, f"time_{name}",
                            f"event_{name}", EXPOSURE, _SG, covariates=cv, strata=strata, ties=analyses.cox.ties,
                            cause=OUTCOME_EVENT)
        except _ERRORS as exc:
            notes.append(f"{name}: subgroup {var} not estimated: {exc}")
            continue
        rows += _level_rows(res.table, "level", [str(v) for v in res.table["level"]], adjustment, inf, subgroup=var)
        rows.append(_row(subgroup=var, adjustment=adjustment, term="interaction", p=float(res.interaction_lr.p)))
    return rows


def _periods(sub, name, study, covs, strata, adjustment, notes) -> list[dict]:
    from cohortstat.models.periods import period_hazard_ratios

    shift = study.follow_up.offset_days + study.follow_up.blanking_days
    t = f"time_{name}"
    work = column_frame(sub, sub.columns, {"__anchor_time": (sub[t] + shift).array, "__entry": float(shift)})
    periods = [(float(a), float(b)) for a, b in study.analyses.periods]
    try:
        res, inf = _fit(period_hazard_ratios, f"{name} periods", notes, work, "__anchor_time", f"event_{name}",
                        EXPOSURE, periods, covariates=covs, entry="__entry", strata=strata,
                        ties=study.analyses.cox.ties, cause=OUTCOME_EVENT)
    except _ERRORS as exc:
        notes.append(f"{name}: period-specific hazard ratios not estimated: {exc}")
        return []
    labels = [f"{a}-{b}" for a, b in study.analyses.periods]
    rows = _level_rows(res.table, "period", labels, adjustment, inf)
    rows.append(_row(adjustment=adjustment, term="heterogeneity", p=float(res.heterogeneity_lr.p)))
    return rows


def _model_covariates(analyses, covariates, strata) -> list[str]:
    """The covariates common to the subgroup and period models (adjusted model's, or none when crude)."""
    return [c for c in strata.covariates(covariates) if c != EXPOSURE] if analyses.cox.adjusted else []


def effect_columns(name: str, analyses, covariates, strata) -> list[str]:
    """The analysis-table columns the subgroup and period models of outcome ``name`` read."""
    sources = {"age_band": "age", SEX: SEX}
    return list(dict.fromkeys([f"time_{name}", f"event_{name}", EXPOSURE,
                               *_model_covariates(analyses, covariates, strata),
                               *([strata.column] if strata.column else []),
                               *(sources.get(v, v) for v in analyses.subgroups)]))


def effect_modification(study, name: str, sub: pd.DataFrame, covariates, strata, notes: list) -> pd.DataFrame | None:
    """Subgroup and period rows of outcome ``name`` (columns :data:`EFFECT_COLUMNS`), None when not asked.

    ``covariates`` are the adjusted model's (``exposure`` first); ``strata`` the study's
    :class:`~cohortstat.analysis.fitting.CoxStrata`.
    """
    analyses = study.analyses
    if not analyses.subgroups and not analyses.periods:
        return None
    covs = _model_covariates(analyses, covariates, strata)
    adjustment = "adjusted" if analyses.cox.adjusted else "crude"
    wanted = set(effect_columns(name, analyses, covariates, strata))
    sub = column_frame(sub, [c for c in sub.columns if c in wanted])  # shared columns, not copies
    rows = _subgroups(sub, name, analyses, covs, strata.column, adjustment, notes)
    if analyses.periods:
        rows += _periods(sub, name, study, covs, strata.column, adjustment, notes)
    out = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    for c in ("events_exposed", "events_reference"):
        out[c] = out[c].astype("Int64")
    return out
