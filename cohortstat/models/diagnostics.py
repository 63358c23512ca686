"""Study diagnostics a reviewer expects: equipoise, minimum detectable relative risk, follow-up
distribution per group, and the check that predicted Fine-Gray cumulative incidences sum to at most 1.

Definitions (see docs/methods-designs.md):
- preference score (Walker et al. 2013): ``logit(F) = logit(PS) - logit(P)``, P the exposed share, so
  that a person with preference 0.5 is as likely to be exposed as the cohort on average; equipoise is
  the share of persons (both groups) with a preference score in ``[0.3, 0.7]`` (bounds included),
  as OHDSI CohortMethod ``computeEquipoise``; the PS is capped at 1 - 1e-7 as there;
- MDRR for a Cox model (Schoenfeld 1983), as CohortMethod ``computeMdrr(modelType = "cox")``:
  ``exp(sqrt((z_(1-alpha/2) + z_power)^2 / (D p (1 - p))))`` with D the number of persons with the
  outcome and p the exposed share of persons;
- follow-up quantiles per group are R ``quantile`` type 7 (CohortMethod ``getFollowUpDistribution``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.errors import ModelInputError

from ._design import check_columns
from ._effect_modification import exposure_codes

PS_CAP = 1.0 - 1e-7


def _probabilities(ps, name: str) -> np.ndarray:
    p = np.asarray(ps, dtype=float).ravel()
    if p.size == 0 or not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ModelInputError(f"{name} must be probabilities in [0, 1] without missing values")
    return p


def preference_score(propensity, exposed_share: float) -> np.ndarray:
    """Preference score of each person (Walker et al. 2013).

    Parameters
    ----------
    propensity : array-like, propensity scores in [0, 1].
    exposed_share : the share of exposed persons in the cohort the PS was fitted on, in (0, 1).

    Returns
    -------
    numpy.ndarray of preference scores in [0, 1].

    References
    ----------
    Walker AM, Patrick AR, Lauer MS, et al. (2013). A tool for assessing the feasibility of comparative
    effectiveness research. Comp Eff Res 3:11-20.
    """
    p = np.minimum(_probabilities(propensity, "propensity"), PS_CAP)
    if not 0.0 < exposed_share < 1.0:
        raise ModelInputError(f"exposed_share must be in (0, 1), got {exposed_share!r}")
    with np.errstate(divide="ignore"):
        logit = np.log(p) - np.log1p(-p) - (np.log(exposed_share) - np.log1p(-exposed_share))
    return 1.0 / (1.0 + np.exp(-logit))


def equipoise(propensity, exposure, *, bounds: tuple[float, float] = (0.3, 0.7)) -> float:
    """Share of persons (exposed and reference) whose preference score lies in ``bounds`` (inclusive).

    Parameters
    ----------
    propensity : array-like, propensity scores. exposure : array-like of 0/1 (1 = exposed).
    bounds : the equipoise interval of the preference score.

    Returns
    -------
    float in [0, 1]; CohortMethod calls a comparison in empirical equipoise when it is >= 0.5.
    """
    p = _probabilities(propensity, "propensity")
    x = exposure_codes(pd.DataFrame({"exposure": np.asarray(exposure).ravel()}), "exposure")
    if x.size != p.size:
        raise ModelInputError(f"propensity and exposure lengths differ ({p.size} and {x.size})")
    lo, hi = bounds
    if not 0.0 <= lo < hi <= 1.0:
        raise ModelInputError(f"bounds must satisfy 0 <= lower < upper <= 1, got {bounds!r}")
    f = preference_score(p, float(x.mean()))
    return float(np.mean((f >= lo) & (f <= hi)))


def minimum_detectable_rr(n_events: int, exposed_share: float, *, alpha: float = 0.05, power: float = 0.8,
                          two_sided: bool = True) -> float:
    """Minimum detectable relative risk of a Cox model (Schoenfeld 1983; CohortMethod ``computeMdrr``).

    Parameters
    ----------
    n_events : number of persons with the outcome (both groups). exposed_share : exposed share of persons.
    alpha, power, two_sided : test size, power and sidedness.

    Returns
    -------
    float, ``inf`` when there is no event.

    References
    ----------
    Schoenfeld DA (1983). Sample-size formula for the proportional-hazards regression model.
    Biometrics 39:499-503.
    """
    if not (0.0 < alpha < 1.0 and 0.0 < power < 1.0):
        raise ModelInputError(f"alpha and power must be in (0, 1), got {alpha!r}, {power!r}")
    if not 0.0 < exposed_share < 1.0:
        raise ModelInputError(f"exposed_share must be in (0, 1), got {exposed_share!r}")
    if n_events < 0:
        raise ModelInputError(f"n_events must be >= 0, got {n_events!r}")
    if n_events == 0:
        return float("inf")
    z_alpha = stats.norm.ppf(1.0 - alpha / 2.0 if two_sided else 1.0 - alpha)
    z_power = stats.norm.ppf(power)
    return float(np.exp(np.sqrt((z_alpha + z_power) ** 2 / (n_events * exposed_share * (1.0 - exposed_share)))))


def mdrr_table(df: pd.DataFrame, exposure: str, events: Mapping[str, str], *, cause: int = 1, alpha: float = 0.05,
               power: float = 0.8, two_sided: bool = True) -> pd.DataFrame:
    """MDRR per outcome.

    Parameters
    ----------
    df : one row per person. exposure : 0/1 column.
    events : outcome name -> event-code column (a person counts once when the code equals ``cause``).

    Returns
    -------
    pandas.DataFrame with columns ``outcome, persons_exposed, persons_reference, events, mdrr, se``
    (``se = 1 / sqrt(D p (1 - p))``, the expected standard error of the log hazard ratio).
    """
    x = exposure_codes(df, exposure)
    check_columns(df, list(events.values()), "event")
    p = float(x.mean())
    rows = []
    for name, col in events.items():
        d = int((df[col].to_numpy() == cause).sum())
        se = np.inf if d == 0 else 1.0 / np.sqrt(d * p * (1.0 - p))
        rows.append({"outcome": name, "persons_exposed": int(x.sum()), "persons_reference": int((1 - x).sum()),
                     "events": d, "mdrr": minimum_detectable_rr(d, p, alpha=alpha, power=power, two_sided=two_sided),
                     "se": float(se)})
    return pd.DataFrame(rows)


def follow_up_distribution(df: pd.DataFrame, duration: str, group: str,
                           quantiles: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> pd.DataFrame:
    """Quantiles of follow-up time per group (R ``quantile`` type 7).

    Returns
    -------
    pandas.DataFrame, one row per group: ``group``, then one column per quantile named ``q0``,
    ``q25``, ... (percent), then ``n``.
    """
    check_columns(df, [duration, group], "follow-up")
    q = np.asarray(quantiles, dtype=float)
    if q.size == 0 or (q < 0).any() or (q > 1).any():
        raise ModelInputError("quantiles must lie in [0, 1]")
    rows = []
    for lev, sub in df.groupby(group, sort=True):
        v = sub[duration].to_numpy(dtype=float)
        row = {"group": lev}
        row.update({f"q{100 * k:g}": val for k, val in zip(q, np.quantile(v, q))})
        row["n"] = int(v.size)
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CifSumCheck:
    """Result of :func:`check_cif_sum` (frozen).

    Attributes
    ----------
    max_sum : the largest sum over causes of the predicted CIFs.
    n_exceeding : number of (person, time) cells where the sum exceeds ``1 + tol``.
    share_exceeding : that number over all cells. exceeds : whether any cell exceeds.
    first : ``(row, column)`` index of the first exceeding cell in the arrays' shape, or None.
    """

    max_sum: float
    n_exceeding: int
    share_exceeding: float
    exceeds: bool
    first: tuple[int, ...] | None


def cif_on_grid(time, cif, grid) -> np.ndarray:
    """A step-function CIF (right-continuous, 0 before its first time) evaluated at ``grid``.

    Use it to put the predictions of per-cause models (e.g. ``FineGrayResult.predict_cif``, whose
    times are the failure times of its own cause) on common times before :func:`check_cif_sum`.
    """
    t = np.asarray(time, dtype=float)
    c = np.asarray(cif, dtype=float)
    if t.shape != c.shape or (np.diff(t) < 0).any():
        raise ModelInputError("time and cif must have the same length, with times sorted increasingly")
    k = np.searchsorted(t, np.asarray(grid, dtype=float), side="right") - 1
    return np.where(k >= 0, c[np.maximum(k, 0)], 0.0)


def check_cif_sum(cifs: Mapping[str, np.ndarray] | Sequence[np.ndarray], *, tol: float = 1e-8) -> CifSumCheck:
    """Check that the predicted cumulative incidences of all causes sum to at most 1.

    Separate Fine-Gray models, one per cause, do not constrain the predicted CIFs of a person to sum
    to at most 1 (Austin, Steyerberg & Putter 2021); a sum above 1 flags a misspecified subdistribution model.

    Parameters
    ----------
    cifs : per cause, an array of predicted CIFs of the same shape (e.g. persons x times).
    tol : tolerance above 1.

    Returns
    -------
    CifSumCheck

    References
    ----------
    Austin PC, Steyerberg EW, Putter H (2021). Fine-Gray subdistribution hazard models to simultaneously
    estimate the absolute risk of different event types: cumulative total failure probability may
    exceed 1. Stat Med 40:4200-4212.
    """
    arrays = list(cifs.values()) if isinstance(cifs, Mapping) else list(cifs)
    if len(arrays) < 2:
        raise ModelInputError("give the predicted CIFs of at least two causes")
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    if len({a.shape for a in arrays}) != 1:
        raise ModelInputError(f"the CIF arrays must have the same shape, got {[a.shape for a in arrays]}")
    total = np.sum(arrays, axis=0)
    if not np.isfinite(total).all() or (total < -tol).any():
        raise ModelInputError("predicted CIFs must be finite and non-negative")
    over = total > 1.0 + tol
    n = int(over.sum())
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(over)), over.shape)) if n else None
    return CifSumCheck(float(total.max()), n, n / total.size, n > 0, first)
