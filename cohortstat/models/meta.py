"""Meta-analysis of per-site estimates: fixed effect and random effects, equal to R ``metafor::rma``.

``meta_fixed(y, se)`` is the inverse-variance fixed-effect (common-effect) model
(``rma(method="FE")``); ``meta_random(y, se, test="knha")`` the random-effects model with the
between-site variance tau^2 estimated by restricted maximum likelihood (``rma(method="REML")``) and
the Hartung-Knapp-Sidik-Jonkman interval (``test="knha"``; ``test="z"`` gives the Wald interval).

tau^2 follows metafor 3.8's algorithm step for step, so that results agree to rounding rather than
to its convergence threshold: start at the Hedges (HE) estimate truncated at 0, Fisher scoring
``tau2 += (y'PPy - tr P) / tr(PP)`` with the step halved while it would make tau^2 negative, stop
when the change is at most 1e-5 (at most 100 steps); then, if the REML log-likelihood at tau^2 = 0
is higher by more than 1.2e-4, tau^2 is set to 0 (metafor's ``ll0check``). The knha variance is the
Wald variance times ``s2w = sum w_i (y_i - mu)^2 / (k - 1)`` (not truncated at 1, as metafor's
default; 0 when that sum is at rounding level), with a t distribution on k - 1 degrees of freedom.

Heterogeneity: Cochran's Q (fixed-effect weights) and its chi-square p on k - 1 df; for the fixed
model I^2 = max(0, (Q - (k - 1)) / Q) and H^2 = Q / (k - 1); for the random model
I^2 = tau^2 / (tau^2 + s^2) and H^2 = (tau^2 + s^2) / s^2 with the "typical" within-site variance
s^2 = (k - 1) / tr(P) (Higgins & Thompson 2002). I^2 is reported in percent, as metafor does.

References
----------
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188.
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the random-effects
model. J Educ Behav Stat 30:261-293.
Hartung J, Knapp G (2001). On tests of the overall treatment effect in meta-analysis with normally
distributed responses. Stat Med 20:1771-1782. Sidik K, Jonkman JN (2002). Stat Med 21:3153-3159.
Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Stat Med 21:1539-1558.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from cohortstat.errors import ModelInputError

__all__ = ["MetaResult", "meta_fixed", "meta_random"]

THRESHOLD = 1e-5  # metafor control threshold (change of tau^2)
MAX_ITER = 100  # metafor control maxiter
LL0_TOL = np.finfo(float).eps ** 0.25  # metafor control tol (ll0check)


@dataclass(frozen=True)
class MetaResult:
    """A pooled estimate (immutable).

    Attributes
    ----------
    method : {"fixed", "random"}
    test : {"z", "knha"}
    estimate, se, ci_lower, ci_upper : float
        Pooled estimate on the input scale (e.g. log hazard ratio), its standard error and interval.
    stat, p : float
        z (or t for knha) statistic and two-sided p value.
    df : float or None
        Degrees of freedom of the t distribution (knha), else None.
    tau2, se_tau2 : float
        Between-site variance (0 for the fixed model) and its standard error (REML only, else NaN).
    I2, H2, Q, Q_p : float
        Heterogeneity: I^2 in percent, H^2, Cochran's Q and its p value.
    k : int
        Number of estimates pooled.
    weights : tuple of float
        Relative weight of each estimate (sums to 1).
    iterations : int
        Fisher-scoring steps (0 for the fixed model).
    """

    method: str
    test: str
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    stat: float
    p: float
    df: float | None
    tau2: float
    se_tau2: float
    I2: float
    H2: float
    Q: float
    Q_p: float
    k: int
    weights: tuple[float, ...]
    iterations: int = 0

    def as_dict(self) -> dict:
        """Plain dictionary of every field (JSON-ready: tuples become lists)."""
        d = dict(self.__dict__)
        d["weights"] = list(self.weights)
        return d


def _inputs(y, se) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float).reshape(-1)
    s = np.asarray(se, dtype=float).reshape(-1)
    if y.shape != s.shape:
        raise ModelInputError(f"estimates ({y.size}) and standard errors ({s.size}) differ in length; give one se per estimate")
    if y.size < 2:
        raise ModelInputError(f"a meta-analysis needs at least 2 estimates, got {y.size}")
    if not (np.isfinite(y).all() and np.isfinite(s).all()) or (s <= 0).any():
        raise ModelInputError("estimates must be finite and standard errors finite and > 0; "
                              "drop the sites whose model did not converge")
    return y, s * s


def _p_matrix(w: np.ndarray) -> np.ndarray:
    """P = W - W 1 (1'W1)^-1 1'W for an intercept-only model."""
    return np.diag(w) - np.outer(w, w) / w.sum()


def _heterogeneity(y: np.ndarray, v: np.ndarray) -> tuple[float, float, float]:
    """Cochran's Q with fixed-effect weights, its p value and the typical within-site variance."""
    k = y.size
    P = _p_matrix(1.0 / v)
    yc = y - y.mean()
    Q = max(0.0, float(yc @ P @ yc))
    return Q, float(stats.chi2.sf(Q, k - 1)), (k - 1) / float(np.trace(P))


def _summary(method, test, y, w, scale, tau2, se_tau2, I2, H2, Q, Qp, it, level) -> MetaResult:
    k = y.size
    mu = float(w @ y / w.sum())
    se = math.sqrt(scale / w.sum())
    if test == "knha":
        df = float(k - 1)
        crit = float(stats.t.isf((1 - level) / 2, df))
        with np.errstate(divide="ignore"):
            stat = mu / se if se > 0 else math.copysign(math.inf, mu) if mu else math.nan
        p = float(2 * stats.t.sf(abs(stat), df)) if not math.isnan(stat) else math.nan
    else:
        df = None
        crit = float(stats.norm.isf((1 - level) / 2))
        stat = mu / se
        p = float(2 * stats.norm.sf(abs(stat)))
    return MetaResult(method=method, test=test, estimate=mu, se=se, ci_lower=mu - crit * se,
                      ci_upper=mu + crit * se, stat=stat, p=p, df=df, tau2=tau2, se_tau2=se_tau2, I2=I2,
                      H2=H2, Q=Q, Q_p=Qp, k=k, weights=tuple((w / w.sum()).tolist()), iterations=it)


def meta_fixed(y, se, level: float = 0.95) -> MetaResult:
    """Inverse-variance fixed-effect pooled estimate (R ``metafor::rma(yi, sei=, method="FE")``).

    Parameters
    ----------
    y : array-like, per-site estimates (e.g. log hazard ratios).
    se : array-like, their standard errors.
    level : float, confidence level of the interval.
    """
    y, v = _inputs(y, se)
    k = y.size
    Q, Qp, _ = _heterogeneity(y, v)
    I2 = max(0.0, 100.0 * (Q - (k - 1)) / Q) if Q > 0 else 0.0
    H2 = Q / (k - 1)
    return _summary("fixed", "z", y, 1.0 / v, 1.0, 0.0, math.nan, I2, H2, Q, Qp, 0, level)


def _reml_loglik(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """Restricted log-likelihood of the intercept-only random-effects model at ``tau2``."""
    w = 1.0 / (v + tau2)
    mu = w @ y / w.sum()
    rss = float(w @ (y - mu) ** 2)
    return -0.5 * (y.size - 1) * math.log(2 * math.pi) - 0.5 * float(np.log(v + tau2).sum()) \
        - 0.5 * math.log(w.sum()) - 0.5 * rss


def reml_tau2(y: np.ndarray, v: np.ndarray) -> tuple[float, int]:
    """REML tau^2 by metafor's Fisher scoring (see the module docstring); returns (tau2, steps)."""
    k = y.size
    yc = y - y.mean()
    # Hedges (HE) start: (RSS - tr(P V)) / (k - 1) with the unweighted P
    tau2 = max(0.0, (float(yc @ yc) - float(v.sum()) * (1 - 1 / k)) / (k - 1))
    change, it = THRESHOLD + 1, 0
    while change > THRESHOLD:
        it += 1
        old = tau2
        P = _p_matrix(1.0 / (v + tau2))
        PP = P @ P
        adj = (float(yc @ PP @ yc) - float(np.trace(P))) / float(np.trace(PP))
        if not math.isfinite(adj):
            adj = 0.0
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if it > MAX_ITER:
            raise ModelInputError("the REML estimate of tau^2 did not converge in 100 Fisher-scoring steps; "
                                  "report the fixed-effect estimate or check the per-site standard errors")
    if tau2 > THRESHOLD and _reml_loglik(y, v, 0.0) - _reml_loglik(y, v, tau2) > LL0_TOL:
        tau2 = 0.0  # stuck at a local maximum: metafor's ll0check
    return tau2, it


def meta_random(y, se, test: Literal["knha", "z"] = "knha", level: float = 0.95) -> MetaResult:
    """Random-effects pooled estimate, tau^2 by REML (R ``rma(yi, sei=, method="REML", test=)``).

    Parameters
    ----------
    y, se : array-like, per-site estimates and standard errors.
    test : {"knha", "z"}
        "knha": Hartung-Knapp-Sidik-Jonkman variance and t(k - 1) interval (recommended with few
        sites); "z": Wald interval from the normal distribution.
    level : float, confidence level.
    """
    if test not in ("knha", "z"):
        raise ModelInputError(f"test must be 'knha' or 'z', got {test!r}")
    y, v = _inputs(y, se)
    k = y.size
    Q, Qp, vt = _heterogeneity(y, v)
    tau2, it = reml_tau2(y, v)
    w = 1.0 / (v + tau2)
    P = _p_matrix(w)
    se_tau2 = math.sqrt(2.0 / float((P * P).sum()))
    scale = 1.0
    if test == "knha":
        mu = w @ y / w.sum()
        rss = float(w @ (y - mu) ** 2)
        scale = 0.0 if rss <= np.finfo(float).eps else rss / (k - 1)
    I2 = 100.0 * tau2 / (vt + tau2)
    H2 = tau2 / vt + 1.0
    return _summary("random", test, y, w, scale, tau2, se_tau2, I2, H2, Q, Qp, it, level)
