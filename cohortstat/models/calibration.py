"""Empirical calibration of p-values and confidence intervals with negative (and positive) controls.

The estimates of control outcomes (log hazard ratios and their standard errors) show how far an
analysis strays from the truth beyond random error. Following Schuemie et al. (2014, 2018) and the
OHDSI ``EmpiricalCalibration`` package, each control estimate ``y_i`` with standard error ``s_i`` is
modelled as ``y_i ~ N(mu, tau^2 + s_i^2)`` (negative controls, true effect 1), or, with positive
controls of known true log effect ``t_i``, as ``y_i ~ N(a + b t_i, (c + d |t_i|)^2 + s_i^2)``.
The parameters are estimated by maximum likelihood.

Choices (see docs/methods-calibration.md):
- as ``fitNull``, controls with a non-finite estimate or standard error and those with
  ``|log estimate| > log(100)`` are dropped, and each drop is written in ``notes``;
- fewer than 5 usable controls raise :class:`~cohortstat.errors.ModelInputError`;
- the maximum is found exactly (profile likelihood over ``tau``), where ``fitNull`` stops its
  Nelder-Mead search at a relative tolerance of 1e-8; the two agree to about 1e-4;
- the calibrated CI from a null distribution is ``calibrateConfidenceInterval`` after
  ``convertNullToErrorModel`` (mean slope 1, SD slope 0), which has the closed form
  ``y - mu -/+ z sqrt(tau^2 + s^2)``.

References
----------
Schuemie MJ, Ryan PB, DuMouchel W, Suchard MA, Madigan D (2014). Interpreting observational studies:
why empirical calibration is needed to correct p-values. Stat Med 33:209-218.
Schuemie MJ, Hripcsak G, Ryan PB, Madigan D, Suchard MA (2018). Empirical confidence interval
calibration for population-level effect estimation studies in observational healthcare data.
PNAS 115:2571-2577.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from cohortstat.errors import ConvergenceError, ModelInputError

from ._kernels import calibration_kernel as K

MIN_CONTROLS = 5
MAX_ABS_LOG = float(np.log(100.0))


@dataclass(frozen=True)
class NullDistribution:
    """The fitted systematic-error distribution N(mean, sd^2) of the negative controls (frozen).

    Attributes
    ----------
    mean, sd : float, on the log scale.
    n_controls : number of controls used. loglik : maximised log-likelihood.
    notes : what happened to the controls (dropped ones).
    """

    mean: float
    sd: float
    n_controls: int
    loglik: float
    notes: tuple[str, ...] = ()

    def to_error_model(self) -> SystematicErrorModel:
        """The equivalent systematic error model (mean slope 1, SD slope 0)."""
        return SystematicErrorModel(self.mean, 1.0, self.sd, 0.0, self.n_controls, self.loglik, self.notes)


@dataclass(frozen=True)
class SystematicErrorModel:
    """Systematic error ``N(a + b t, (c + d |t|)^2)`` as a function of the true log effect ``t`` (frozen)."""

    mean_intercept: float
    mean_slope: float
    sd_intercept: float
    sd_slope: float
    n_controls: int
    loglik: float
    notes: tuple[str, ...] = ()


def _clean(y, se, true=None, role: str = "negative control") -> tuple[np.ndarray, ...]:
    """Arrays of usable controls plus notes; raise if fewer than MIN_CONTROLS remain."""
    y = np.asarray(y, dtype=float).ravel()
    se = np.asarray(se, dtype=float).ravel()
    arrays = [y, se] if true is None else [y, se, np.asarray(true, dtype=float).ravel()]
    if len({a.shape[0] for a in arrays}) != 1:
        raise ModelInputError("log_estimate, se (and true_log_effect) must have the same length; "
                              f"got lengths {[a.shape[0] for a in arrays]}")
    notes = []
    keep = np.isfinite(y) & np.isfinite(se)
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} {role}(s) with a missing or infinite estimate or standard error dropped")
    if (keep & (se <= 0)).any():
        raise ModelInputError("a standard error is <= 0; give the standard error of each log estimate (> 0)")
    extreme = keep & (np.abs(np.where(keep, y, 0.0)) > MAX_ABS_LOG)
    if extreme.any():
        notes.append(f"{int(extreme.sum())} {role}(s) with |log estimate| > log(100) dropped")
        keep &= ~extreme
    if true is not None:
        keep &= np.isfinite(arrays[2])
    n = int(keep.sum())
    if n < MIN_CONTROLS:
        raise ModelInputError(
            f"empirical calibration needs at least {MIN_CONTROLS} {role}s with a finite estimate and "
            f"standard error; got {n} - add {role}s (outcomes believed unaffected by the exposure)"
        )
    return (*(a[keep] for a in arrays), tuple(notes))


def fit_null(log_estimate, se) -> NullDistribution:
    """Fit the empirical null distribution to negative-control estimates by maximum likelihood.

    Parameters
    ----------
    log_estimate : array-like, the log hazard (rate, odds) ratios of the negative controls.
    se : array-like, their standard errors.

    Returns
    -------
    NullDistribution

    Raises
    ------
    ModelInputError
        fewer than 5 usable controls, mismatched lengths or a standard error <= 0.

    Notes
    -----
    Each estimate ``y_i ~ N(mu, tau^2 + se_i^2)`` (OHDSI ``fitNull``). For fixed ``tau`` the best
    ``mu`` is the inverse-variance weighted mean, so the profile log-likelihood of ``tau`` is
    maximised on ``[0, B]`` by a grid then bounded Brent search; ``tau = 0`` is allowed.
    """
    y, s, notes = _clean(log_estimate, se)
    upper = 10.0 * (float(np.ptp(y)) + float(s.max())) + 1e-3
    grid = upper * np.linspace(0.0, 1.0, 401) ** 2
    prof = K.null_profile_grid(y, s, grid)
    k = int(np.argmax(prof))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = optimize.minimize_scalar(lambda t: -K.null_profile_loglik(y, s, t), bounds=(lo, hi),
                                   method="bounded", options={"xatol": 1e-12, "maxiter": 500})
    tau = float(res.x) if -res.fun >= prof[k] else float(grid[k])
    if K.null_profile_loglik(y, s, 0.0) >= K.null_profile_loglik(y, s, tau):
        tau = 0.0
    mu = K.null_mean_given_tau(y, s, tau)
    return NullDistribution(mean=mu, sd=tau, n_controls=int(y.size),
                            loglik=K.null_profile_loglik(y, s, tau), notes=notes)


def fit_systematic_error_model(log_estimate, se, true_log_effect) -> SystematicErrorModel:
    """Fit the systematic error model to negative and positive controls by maximum likelihood.

    Parameters
    ----------
    log_estimate, se : array-like, estimates (log scale) and standard errors of the controls.
    true_log_effect : array-like, the true log effect of each control (0 for negative controls).

    Returns
    -------
    SystematicErrorModel, as OHDSI ``fitSystematicErrorModel`` (non-legacy): mean ``a + b t`` and
    SD ``c + d |t|`` (constrained to be >= 0 at every control).

    Raises
    ------
    ModelInputError
        fewer than 5 usable controls, or fewer than 2 distinct true effects (slopes not identified).
    ConvergenceError
        the search did not find a finite likelihood.
    """
    y, s, t, notes = _clean(log_estimate, se, true_log_effect, role="control")
    if np.unique(t).size < 2:
        raise ModelInputError("the systematic error model needs controls with at least 2 distinct true effects "
                              "(negative and positive controls); with negative controls only use fit_null")
    theta = np.array([0.0, 1.0, 0.1, 0.0])
    best = None
    for _ in range(4):  # restarted Nelder-Mead: the likelihood is not smooth where c + d|t| = 0
        res = optimize.minimize(K.error_model_negloglik, theta, args=(y, s, t), method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 40000, "maxfev": 80000})
        if best is not None and res.fun >= best.fun - 1e-12:
            best = res if res.fun < best.fun else best
            break
        best, theta = res, res.x
    if not np.isfinite(best.fun):
        raise ConvergenceError("the systematic error model could not be fitted; inspect the control estimates")
    a, b, c, d = (float(v) for v in best.x)
    return SystematicErrorModel(a, b, c, d, int(y.size), -float(best.fun), notes)


def calibrate_p(null: NullDistribution, log_estimate, se, *, two_sided: bool = True,
                upper: bool = True) -> np.ndarray:
    """Calibrated p-values of estimates against the empirical null (OHDSI ``calibrateP``).

    Parameters
    ----------
    null : NullDistribution from :func:`fit_null`.
    log_estimate, se : array-like, the estimates (log scale) and their standard errors.
    two_sided : two-sided p-value ``2 min(P_lower, P_upper)``; else one-sided.
    upper : for a one-sided p-value, test for an increase (``P(Y >= y)``) or a decrease.

    Returns
    -------
    numpy.ndarray of p-values; NaN where the estimate or its SE is missing or infinite.
    """
    if not isinstance(null, NullDistribution):
        raise ModelInputError("null must be a NullDistribution from fit_null")
    y = np.atleast_1d(np.asarray(log_estimate, dtype=float))
    s = np.atleast_1d(np.asarray(se, dtype=float))
    if y.shape != s.shape:
        raise ModelInputError(f"log_estimate and se must have the same length; got {y.shape} and {s.shape}")
    with np.errstate(invalid="ignore"):
        z = (y - null.mean) / np.sqrt(null.sd ** 2 + s ** 2)
        p_up, p_low = stats.norm.sf(z), stats.norm.cdf(z)
        p = 2.0 * np.minimum(p_up, p_low) if two_sided else (p_up if upper else p_low)
    p = np.where(np.isfinite(y) & np.isfinite(s), p, np.nan)
    return np.minimum(p, 1.0)


def _bound(z: float, y: float, s: float, m: SystematicErrorModel) -> float:
    """The true log effect x at which (y - mean(x)) / sqrt(sd(x)^2 + s^2) = z (NaN if none in [-100, 100])."""
    if m.sd_slope == 0.0 and m.mean_slope != 0.0:  # constant SD: closed form
        x = (y - m.mean_intercept - z * np.sqrt(m.sd_intercept ** 2 + s * s)) / m.mean_slope
        return float(x) if abs(x) <= 100.0 else float("nan")

    def f(x: float) -> float:
        sd = m.sd_intercept + m.sd_slope * abs(x)
        return z + (m.mean_intercept + m.mean_slope * x - y) / np.sqrt(sd * sd + s * s)

    lo, hi = f(-100.0), f(100.0)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo * hi > 0:
        return float("nan")
    return float(optimize.brentq(f, -100.0, 100.0, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))


def calibrate_ci(model: NullDistribution | SystematicErrorModel, log_estimate, se, *,
                 level: float = 0.95) -> pd.DataFrame:
    """Calibrated point estimates and confidence intervals (OHDSI ``calibrateConfidenceInterval``).

    Parameters
    ----------
    model : NullDistribution (negative controls only) or SystematicErrorModel.
    log_estimate, se : array-like, the estimates (log scale) and their standard errors.
    level : confidence level of the interval.

    Returns
    -------
    pandas.DataFrame with columns ``log_estimate, log_ci_lower, log_ci_upper, se`` (calibrated, log
    scale; ``se`` = interval width / (2 z)) and ``estimate, ci_lower, ci_upper`` (ratio scale). A bound
    is NaN when the estimate is missing or the model puts no solution in [-100, 100].

    Notes
    -----
    The calibrated bound is the true log effect ``x`` at which the observed estimate would sit at
    the ``(1 -/+ level)/2`` quantile of ``N(a + b x, (c + d|x|)^2 + se^2)``; the point estimate is
    the ``x`` that puts it at the median.
    """
    if not 0.0 < level < 1.0:
        raise ModelInputError(f"level must be in (0, 1), got {level!r}")
    m = model.to_error_model() if isinstance(model, NullDistribution) else model
    if not isinstance(m, SystematicErrorModel):
        raise ModelInputError("model must be a NullDistribution or a SystematicErrorModel")
    y = np.atleast_1d(np.asarray(log_estimate, dtype=float))
    s = np.atleast_1d(np.asarray(se, dtype=float))
    if y.shape != s.shape:
        raise ModelInputError(f"log_estimate and se must have the same length; got {y.shape} and {s.shape}")
    zq = float(stats.norm.ppf(0.5 + level / 2.0))
    out = np.full((y.size, 3), np.nan)
    for i in range(y.size):
        if np.isfinite(y[i]) and np.isfinite(s[i]):
            out[i] = [_bound(z, y[i], s[i], m) for z in (0.0, zq, -zq)]
    frame = pd.DataFrame({"log_estimate": out[:, 0], "log_ci_lower": out[:, 1], "log_ci_upper": out[:, 2]})
    frame["se"] = (frame["log_ci_upper"] - frame["log_ci_lower"]) / (2.0 * zq)
    for col, src in (("estimate", "log_estimate"), ("ci_lower", "log_ci_lower"), ("ci_upper", "log_ci_upper")):
        frame[col] = np.exp(frame[src])
    return frame


def calibrate_estimates(null: NullDistribution, log_estimate, se, *, level: float = 0.95) -> pd.DataFrame:
    """Uncalibrated and calibrated estimate, CI and p-value side by side.

    Returns
    -------
    pandas.DataFrame with columns ``estimate, ci_lower, ci_upper, p, calibrated_estimate,
    calibrated_ci_lower, calibrated_ci_upper, calibrated_p`` (ratio scale, Wald intervals for
    the uncalibrated columns).
    """
    y = np.atleast_1d(np.asarray(log_estimate, dtype=float))
    s = np.atleast_1d(np.asarray(se, dtype=float))
    ci = calibrate_ci(null, y, s, level=level)
    zq = float(stats.norm.ppf(0.5 + level / 2.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2.0 * stats.norm.sf(np.abs(y / s))
    return pd.DataFrame({
        "estimate": np.exp(y), "ci_lower": np.exp(y - zq * s), "ci_upper": np.exp(y + zq * s), "p": p,
        "calibrated_estimate": ci["estimate"].to_numpy(), "calibrated_ci_lower": ci["ci_lower"].to_numpy(),
        "calibrated_ci_upper": ci["ci_upper"].to_numpy(), "calibrated_p": calibrate_p(null, y, s),
    })


def leave_one_out_p(log_estimate, se) -> np.ndarray:
    """Calibrated p-value of each negative control against the null fitted on all the others.

    The check behind the calibration plot of Schuemie et al. (2014): if the null is well estimated,
    about 5% of these p-values fall below 0.05 (against far more uncalibrated ones when there is
    systematic error). Needs at least 6 usable controls (5 left in each fit).

    Returns
    -------
    numpy.ndarray, one p-value per input control; NaN for controls dropped as unusable.
    """
    y = np.asarray(log_estimate, dtype=float).ravel()
    s = np.asarray(se, dtype=float).ravel()
    if y.shape != s.shape:
        raise ModelInputError(f"log_estimate and se must have the same length; got {y.shape} and {s.shape}")
    usable = np.isfinite(y) & np.isfinite(s) & (np.abs(np.where(np.isfinite(y), y, 0.0)) <= MAX_ABS_LOG)
    out = np.full(y.size, np.nan)
    for i in np.flatnonzero(usable):
        others = usable.copy()
        others[i] = False
        out[i] = calibrate_p(fit_null(y[others], s[others]), y[i:i + 1], s[i:i + 1])[0]
    return out
