"""Harrell's concordance (C-index) with R ``survival::concordance``'s counts and standard error.

Semantic choices (see docs/methods-nonparametric.md):
- pairs are compared within strata; a subject censored at another's event time outlives it; with
  delayed entry an event at t is compared only with subjects at risk at t (entry < t);
- ``reverse=False`` (R's default): a larger score predicts *longer* survival. A risk score (Cox linear
  predictor, a hazard) predicts shorter survival: pass ``reverse=True`` -- R's ``concordance(coxfit)``
  does so itself, and so does ``concordance(result=cox_result)`` here. With ``reverse=True`` the
  concordant and discordant counts swap and C becomes 1 - C, as in R;
- C = (concordant + tied.x / 2) / (concordant + discordant + tied.x): pairs tied on the score count
  one half, pairs tied on time are not comparable (R's default ``timewt = "n"``);
- the standard error is R's infinitesimal jackknife (``sqrt(fit$var)``), with case weights and clusters
  as R; exact time ties (R's ``timefix`` rounding of nearly equal times is not applied).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError
from cohortstat.models._kernels.concordance_kernel import concordance_counts
from cohortstat.models._np_input import strata_codes, survival_input

COUNT_NAMES = ("concordant", "discordant", "tied.x", "tied.y", "tied.xy")


@dataclass(frozen=True, eq=False)
class ConcordanceResult:
    """Concordance C, its standard error and the pair counts (a read-only mapping ``counts``).

    Attributes
    ----------
    concordance : C. se : infinitesimal-jackknife standard error (R ``sqrt(fit$var)``).
    counts : dict-like of concordant, discordant, tied.x, tied.y, tied.xy (weighted pair counts).
    n : rows used. reverse : whether the score was treated as a risk score.
    """

    concordance: float
    se: float
    counts: pd.Series
    n: int
    reverse: bool

    @property
    def var(self) -> float:
        return self.se**2

    def table(self) -> pd.DataFrame:
        """One row: ``concordance, se, concordant, discordant, tied.x, tied.y, tied.xy, n``."""
        row = {"concordance": self.concordance, "se": self.se, **self.counts.to_dict(), "n": self.n}
        return pd.DataFrame([row])


def _result_score(result, df: pd.DataFrame) -> np.ndarray:
    """Linear predictor x' beta of a fitted Cox result on ``df`` (terms ``column`` or ``column[level]``)."""
    coef = getattr(result, "coef", None)
    if not isinstance(coef, pd.Series):
        raise ModelInputError("result must be a fitted CoxPH result (with a coef Series indexed by term)")
    lp = np.zeros(len(df))
    for term, b in coef.items():
        if term in df.columns:
            x = pd.to_numeric(df[term].astype(float) if df[term].dtype == bool else df[term], errors="coerce")
        elif term.endswith("]") and "[" in term and term.split("[", 1)[0] in df.columns:
            col, lev = term[:-1].split("[", 1)
            x = (df[col].astype(str) == lev).astype(float).where(df[col].notna())
        else:
            raise ModelInputError(f"term {term!r} of the model cannot be rebuilt from the data's columns")
        lp = lp + b * x.to_numpy(dtype=float)
    return lp


def _as_list(x) -> list[str]:
    return [] if x is None else [x] if isinstance(x, str) else list(x)


def _score_column(df: pd.DataFrame, score, result) -> tuple[pd.DataFrame, str]:
    if (score is None) == (result is None):
        raise ModelInputError("pass exactly one of score= (a column name or an array) or result= (a Cox fit)")
    if result is not None:
        return df.assign(_cohortstat_score=_result_score(result, df)), "_cohortstat_score"
    if isinstance(score, str):
        return df, score
    arr = np.asarray(score, dtype=float)
    if arr.shape != (len(df),):
        raise ModelInputError(f"score has shape {arr.shape}; it must hold one number per row of df ({len(df)})")
    return df.assign(_cohortstat_score=arr), "_cohortstat_score"


def concordance(df: pd.DataFrame, duration: str, event: str, score=None, *, result=None,
                reverse: bool | None = None, strata: str | Sequence[str] | None = None,
                weights: str | None = None, cluster: str | None = None, entry: str | None = None,
                cause: int | None = None, missing: str = "drop") -> ConcordanceResult:
    """Harrell's C of a score against censored survival times, equal to R ``survival::concordance``.

    Parameters
    ----------
    df : DataFrame, one row per subject.
    duration, event : time and event code (any positive code an event, or only ``cause`` if given).
    score : column name or array (one value per row). Larger = longer survival unless ``reverse``.
    result : instead of ``score``, a fitted Cox result: its linear predictor on ``df`` is the score,
        ``reverse`` defaults to True and ``strata`` to the model's strata (R ``concordance(coxfit)``
        when ``df`` is the fitting data).
    reverse : treat the score as a risk score (larger = shorter survival). Default False with ``score``.
    strata : column name(s); only pairs within a stratum are compared (R ``+ strata(...)``).
    weights : case-weight column (R ``weights=``); cluster : cluster column for the jackknife (``cluster=``).
    entry : delayed-entry column: an event at t is compared with the subjects at risk at t, entry < t
        (R ``concordance(Surv(entry, duration, event) ~ score)``).
    missing : "drop" (default, with a :class:`~cohortstat.errors.DataCheckWarning`) or "raise".

    Returns
    -------
    ConcordanceResult : ``concordance``, ``se``, ``counts`` and ``table()``.

    References
    ----------
    Harrell FE, Califf RM, Pryor DB, Lee KL, Rosati RA (1982). Evaluating the yield of medical tests.
    JAMA 247:2543-2546. Therneau T, Atkinson E (2023). The concordance statistic (survival vignette).
    """
    if reverse is None:
        reverse = result is not None
    if result is not None and strata is None and isinstance(getattr(result, "strata", None), (str, list, tuple)):
        strata = result.strata
    names = _as_list(strata)
    if not isinstance(df, pd.DataFrame):
        raise ModelInputError("expected a pandas DataFrame; convert your data with pd.DataFrame(...)")
    df, col = _score_column(df, score, result)
    extra = [col, *names, weights, cluster]
    data, sub = survival_input(df, duration, event, entry=entry, extra=extra, missing=missing,
                               caller="concordance")
    x = pd.to_numeric(sub[col], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(x)):
        what = f"score column {score!r}" if isinstance(score, str) else "the score"
        raise ModelInputError(f"{what} must hold finite numbers (infinite values found)")
    w = np.ones(x.size) if weights is None else pd.to_numeric(sub[weights], errors="coerce").to_numpy(float)
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ModelInputError(f"weights column {weights!r} must hold finite positive numbers")
    ev = (data.event > 0) if cause is None else (data.event == cause)
    counts, infl = _count_all(data.time, ev, x, w, strata_codes(sub, names), data.entry)
    npair = counts[:3].sum()
    if npair == 0:
        raise ModelInputError("no comparable pairs (no event followed by a longer follow-up); C is undefined")
    somer = (counts[0] - counts[1]) / npair
    dfbeta = w * ((infl[:, 0] - infl[:, 1]) / npair - somer / npair * infl.sum(axis=1))
    if cluster is not None:
        dfbeta = pd.Series(dfbeta).groupby(sub[cluster].to_numpy()).sum().to_numpy()
    c = (somer + 1.0) / 2.0
    if reverse:
        c = 1.0 - c
        counts = counts[[1, 0, 2, 3, 4]]
    out = pd.Series(counts, index=list(COUNT_NAMES), name="count")
    out.values.setflags(write=False)
    return ConcordanceResult(float(c), float(np.sqrt(np.sum(dfbeta**2) / 4.0)), out, int(x.size), bool(reverse))


def _count_all(time, ev, x, w, scode, entry):
    """Counts summed over strata and the influence rows in input order."""
    rank = np.unique(x, return_inverse=True)[1].astype(np.int64)
    counts = np.zeros(5)
    infl = np.zeros((time.size, 3))
    for s in np.unique(scode):
        idx = np.flatnonzero(scode == s)
        idx = idx[np.argsort(time[idx], kind="stable")]
        c, f = concordance_counts(time[idx], ev[idx], rank[idx], w[idx], None if entry is None else entry[idx])
        counts += c
        infl[idx] = f
    return counts, infl

