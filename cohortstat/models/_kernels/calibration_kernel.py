"""Likelihoods of the empirical-calibration models (pure functions over arrays).

Every control estimate ``y_i`` (log scale) with standard error ``s_i`` is modelled as
``y_i ~ N(m_i, sd_i^2 + s_i^2)``: random error ``s_i`` plus a systematic error drawn from
``N(m_i, sd_i^2)``. For the null distribution ``m_i = mu`` and ``sd_i = tau``; for the systematic
error model ``m_i = a + b t_i`` and ``sd_i = c + d |t_i|`` with ``t_i`` the true log effect.
"""

from __future__ import annotations

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))


def normal_loglik(y: np.ndarray, mean: np.ndarray, var: np.ndarray) -> float:
    """Sum of ``log N(y | mean, var)`` over the controls."""
    r = y - mean
    return float(-0.5 * np.sum(LOG_2PI + np.log(var) + r * r / var))


def null_mean_given_tau(y: np.ndarray, se: np.ndarray, tau: float) -> float:
    """The maximum-likelihood mean for a fixed systematic-error SD (inverse-variance weighted mean)."""
    w = 1.0 / (tau * tau + se * se)
    return float(np.sum(w * y) / np.sum(w))


def null_profile_loglik(y: np.ndarray, se: np.ndarray, tau: float) -> float:
    """Profile log-likelihood of ``tau`` (the mean at its maximum for that ``tau``)."""
    var = tau * tau + se * se
    return normal_loglik(y, null_mean_given_tau(y, se, tau), var)


def error_model_negloglik(theta: np.ndarray, y: np.ndarray, se: np.ndarray, true: np.ndarray) -> float:
    """Negative log-likelihood of the systematic error model ``theta = (a, b, c, d)``.

    Returns ``inf`` where the systematic-error SD ``c + d |t|`` is negative for some control.
    """
    a, b, c, d = (float(v) for v in theta)
    sd = c + d * np.abs(true)
    if (sd < 0).any():
        return float("inf")
    return -normal_loglik(y, a + b * true, sd * sd + se * se)


def null_profile_grid(y: np.ndarray, se: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """:func:`null_profile_loglik` at every ``tau`` of a grid (vectorised over the grid)."""
    var = taus[:, None] ** 2 + se[None, :] ** 2
    w = 1.0 / var
    mu = (w @ y) / w.sum(axis=1)
    r = y[None, :] - mu[:, None]
    return -0.5 * np.sum(LOG_2PI + np.log(var) + r * r * w, axis=1)
