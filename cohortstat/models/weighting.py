"""Propensity score, inverse-probability and overlap weights.

The propensity score is a logistic regression (statsmodels ``Logit``) of the treatment indicator on the
covariates. Weights are computed from it: inverse-probability-of-treatment weights for the average
treatment effect (ATE) or the effect in the treated (ATT), optionally stabilized, optionally truncated at
percentiles, and overlap weights; persons may be trimmed on the score first. Covariate balance (standardized
differences, unweighted or weighted) is measured in the analysis layer:
:func:`cohortstat.analysis.balance.balance_table`.

Semantic choices (see docs/methods-confounding.md):

- Covariates are coded by :class:`~cohortstat.models.design.DesignSpec`, as in every model of cohortstat
  (the same terms and reference levels as CoxPH and FineGray on the same frame).
- The preference score is that of Walker et al. (2013): the propensity score with the log-odds of the
  treated proportion removed, so that 0.5 means "no preference" whatever the size of each group.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cohortstat.errors import ConvergenceError, ConvergenceWarning, ModelInputError
from cohortstat.models.design import DesignSpec, check_roles, complete_rows

__all__ = [
    "PropensityScore",
    "propensity_score",
    "iptw_weights",
    "overlap_weights",
    "truncate_weights",
    "Truncation",
    "within_bounds",
    "design_matrix",
]


@dataclass(frozen=True, eq=False)
class PropensityScore:
    """A fitted propensity score (immutable).

    Attributes
    ----------
    ps : numpy.ndarray
        Estimated probability of exposure, one per input row, in input order (NaN for a row left
        out for a missing value). Read-only.
    logit_ps : numpy.ndarray
        ``log(ps / (1 - ps))``, computed from the linear predictor (no rounding through ``ps``).
    preference : numpy.ndarray
        Preference score of Walker et al. (2013).
    coef : pandas.DataFrame
        Columns ``term, coef, se, z, p, odds_ratio``; the first term is ``Intercept``.
    treated_fraction : float
        Proportion of treated rows.
    n, n_treated : int
        Rows used and treated rows.
    converged : bool
        Whether the Newton iterations converged.
    iterations : int
        Newton iterations used.
    notes : tuple of str
        What happened to the data.
    design : DesignSpec
        How the covariates were coded (the same terms and reference levels as CoxPH and FineGray).
    """

    ps: np.ndarray = field(repr=False)
    logit_ps: np.ndarray = field(repr=False)
    preference: np.ndarray = field(repr=False)
    coef: pd.DataFrame = field(repr=False)
    treated_fraction: float
    n: int
    n_treated: int
    converged: bool
    iterations: int
    notes: tuple[str, ...] = ()
    design: DesignSpec | None = field(default=None, repr=False, compare=False)

    def table(self) -> pd.DataFrame:
        """The coefficient table (a copy)."""
        return self.coef.copy()

    def summary(self) -> str:
        """A text summary: coefficients (odds ratios), convergence and notes."""
        lines = [f"Propensity score (logistic regression): n = {self.n}, exposed = {self.n_treated}", ""]
        lines.append(self.coef.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        status = "converged" if self.converged else "did NOT converge"
        lines += ["", f"Newton-Raphson: {status} in {self.iterations} iteration(s)"]
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  - {n}" for n in self.notes)
        return "\n".join(lines)


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        raise ModelInputError(
            f"column {name!r} is not in the data; available columns: {', '.join(map(str, df.columns))}"
        )
    return df[name]


def _treatment_array(values, name: str = "treatment") -> np.ndarray:
    t = np.asarray(values)
    if t.ndim != 1:
        raise ModelInputError(f"{name} must be one-dimensional")
    if t.dtype == bool:
        return t.astype(np.int8)
    try:
        tf = t.astype(float)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"{name} must be coded 0 (reference) / 1 (exposed)") from exc
    if np.isnan(tf).any() or not np.isin(tf, (0.0, 1.0)).all():
        raise ModelInputError(
            f"{name} must be coded 0 (reference) / 1 (exposed) with no missing value; recode it first"
        )
    return tf.astype(np.int8)


def design_matrix(df: pd.DataFrame, covariates, intercept: bool = False) -> tuple[np.ndarray, list[str]]:
    """Numeric design matrix and its term names (first column ``Intercept`` when ``intercept``).

    Columns are coded by :class:`~cohortstat.models.design.DesignSpec`, as in every model of
    cohortstat (bool -> ``column[True]``, categorical -> ``column[level]`` with the first level as
    reference). Missing values raise here; :func:`propensity_score` applies the missing policy.
    """
    spec = DesignSpec.from_frame(df, covariates, missing="raise")
    return _with_intercept(spec.matrix(df), intercept), (["Intercept"] if intercept else []) + list(spec.terms)


def _with_intercept(x: np.ndarray, intercept: bool) -> np.ndarray:
    if not intercept:
        return x
    out = np.empty((x.shape[0], x.shape[1] + 1), order="F")
    out[:, 0] = 1.0
    out[:, 1:] = x
    return out


def propensity_score(df: pd.DataFrame, *, treatment: str, covariates, maxiter: int = 50,
                     missing: str = "drop") -> PropensityScore:
    """Fit a propensity score by logistic regression.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per person.
    treatment : str
        The exposure column, coded 1 (exposed) or 0 (reference).
    covariates : sequence of str
        Columns of the model (an intercept is added), coded by
        :class:`~cohortstat.models.design.DesignSpec` exactly as in CoxPH and FineGray.
    maxiter : int
        Maximum Newton iterations.
    missing : {'drop', 'raise'}
        Rows with a missing exposure or covariate are left out of the fit with a note (their
        scores are NaN), or raise, as in every model.

    Returns
    -------
    PropensityScore

    Raises
    ------
    ModelInputError
        Unknown column, missing value, treatment not coded 0/1, only one treatment group.
    ConvergenceError
        The Newton iterations failed (e.g. a singular information matrix from collinear covariates).

    Notes
    -----
    A covariate that perfectly separates the groups drives the score to 0 or 1; this is reported as a
    :class:`~cohortstat.errors.ConvergenceWarning` naming what to do, since matching or weighting on such
    a score is meaningless.

    References
    ----------
    Rosenbaum PR, Rubin DB. The central role of the propensity score in observational studies for causal
    effects. Biometrika 1983;70(1):41-55.

    Walker AM, Patrick AR, Lauer MS, et al. A tool for assessing the feasibility of comparative
    effectiveness research. Comp Eff Res 2013;3:11-20 (the preference score).
    """
    _column(df, treatment)
    keep, note = complete_rows(df, [*check_roles(df, covariate=covariates), treatment], missing)
    sub = df if keep is None else df.loc[keep]
    notes: list[str] = [] if note is None else [note]
    t = _treatment_array(sub[treatment].to_numpy(), treatment)
    n = t.size
    n_treated = int(t.sum())
    if n_treated == 0 or n_treated == n:
        raise ModelInputError(
            f"{treatment!r} has only one group ({n_treated} exposed of {n}); a propensity score needs both"
        )
    spec = DesignSpec.from_frame(sub, covariates, missing)
    design = _with_intercept(spec.matrix(sub), True)
    terms = ["Intercept", *spec.terms]
    _check_rank(design, terms)
    params, bse, converged, iterations = _fit_logit(t, design, maxiter, notes)
    eta = design @ params
    ps = 1.0 / (1.0 + np.exp(-eta))
    frac = n_treated / n
    logit_frac = np.log(frac / (1.0 - frac))
    pref = 1.0 / (1.0 + np.exp(-(eta - logit_frac)))
    notes.append(
        f"propensity score: logistic regression on {len(terms) - 1} terms, {n} rows, {n_treated} exposed"
    )
    return PropensityScore(
        ps=_full_length(ps, keep),
        logit_ps=_full_length(eta, keep),
        preference=_full_length(pref, keep),
        coef=_coef_table(terms, params, bse),
        treated_fraction=float(frac),
        n=int(n),
        n_treated=n_treated,
        converged=converged,
        iterations=iterations,
        notes=tuple(notes),
        design=spec,
    )


def _fit_logit(t: np.ndarray, design: np.ndarray, maxiter: int, notes: list) -> tuple:
    """statsmodels Logit by Newton: (params, se, converged, iterations); separation is warned and noted."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning as SMConvergenceWarning
    from statsmodels.tools.sm_exceptions import HessianInversionWarning, PerfectSeparationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # rank checked before on the cross-product (statsmodels' own check is a QR of the whole
            # n x p matrix, several seconds at millions of rows)
            model = sm.Logit(t.astype(float), design, check_rank=False)
            fit = model.fit(method="newton", maxiter=maxiter, disp=0)
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError(
                "the propensity-score model has a singular information matrix (collinear covariates?); "
                "drop redundant covariates"
            ) from exc
    separation = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
    poor = any(issubclass(w.category, (SMConvergenceWarning, HessianInversionWarning)) for w in caught)
    converged = bool(fit.mle_retvals.get("converged", False)) and not poor
    iterations = int(fit.mle_retvals.get("iterations", maxiter))
    params = np.asarray(fit.params, dtype=float)
    if not np.isfinite(params).all():
        raise ConvergenceError("the propensity-score model diverged; check the covariates for separation")
    if separation or not converged:
        msg = (
            "the propensity-score model "
            + ("shows (quasi-)complete separation" if separation else "did not converge")
            + f" after {iterations} iterations; some covariate almost determines the exposure - "
            "drop it or restrict the cohort to patients with overlapping characteristics"
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        notes.append(msg)
    return params, np.asarray(fit.bse, dtype=float), converged, iterations


def _coef_table(terms: list[str], params: np.ndarray, bse: np.ndarray) -> pd.DataFrame:
    from scipy.stats import norm

    with np.errstate(divide="ignore", invalid="ignore"):
        z = params / bse
    return pd.DataFrame({"term": terms, "coef": params, "se": bse, "z": z, "p": 2.0 * norm.sf(np.abs(z)),
                         "odds_ratio": np.exp(params)})


def _full_length(values: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """One value per input row (NaN for rows left out for missing values), read-only."""
    if keep is None:
        out = values.copy()
    else:
        out = np.full(keep.shape[0], np.nan)
        out[keep] = values
    out.flags.writeable = False
    return out


def _check_rank(design: np.ndarray, terms: list[str]) -> None:
    """Raise when the design matrix is rank deficient (collinear or constant covariates)."""
    xtx = design.T @ design
    scale = np.sqrt(np.diag(xtx))
    if (scale == 0).any():
        zero = [t for t, s in zip(terms, scale) if s == 0]
        raise ModelInputError(
            f"covariate(s) {', '.join(zero)} are all 0; drop them from the propensity model"
        )
    corr = xtx / np.outer(scale, scale)
    eig = np.linalg.eigvalsh(corr)
    if eig.min() <= 1e-10 * eig.max():
        raise ModelInputError(
            "the propensity-model covariates are collinear (or one is constant besides the intercept); "
            "drop redundant covariates"
        )


def _ps_and_treatment(ps, treatment) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(ps, dtype=float)
    t = _treatment_array(treatment)
    if p.shape != t.shape:
        raise ModelInputError(f"ps has {p.size} values but treatment has {t.size}; pass aligned arrays")
    if not ((p > 0) & (p < 1)).all():
        raise ModelInputError(
            "propensity scores must lie strictly between 0 and 1; a score of 0 or 1 means no overlap - "
            "restrict the cohort or revise the propensity model"
        )
    return p, t


def iptw_weights(ps, treatment, stabilized: bool = True, estimand: str = "ate") -> np.ndarray:
    """Inverse-probability-of-treatment weights for the average treatment effect (ATE) or the average
    treatment effect in the treated (ATT).

    With ``p = ps`` and ``q = P(T=1)`` (the proportion exposed):

    ====================  =================  ==========================================
    estimand              exposed            reference
    ====================  =================  ==========================================
    ATE                   ``1 / p``          ``1 / (1 - p)``
    ATE, stabilized       ``q / p``          ``(1 - q) / (1 - p)``
    ATT                   ``1``              ``p / (1 - p)``
    ATT, stabilized       ``1``              ``p / (1 - p) * (1 - q) / q``
    ====================  =================  ==========================================

    Stabilized ATE weights sum to about the group sizes; stabilized ATT weights divide the reference
    weights by the marginal odds of exposure ``q / (1 - q)``, so that they sum to about the reference
    group's size (the exposed keep weight 1). Stabilization rescales each group's weights by a constant:
    point estimates of a weighted Cox model are unchanged, only the weights' scale is.

    Parameters
    ----------
    ps : array_like
        Propensity scores in (0, 1).
    treatment : array_like
        1 exposed, 0 reference.
    stabilized : bool
        Multiply by the marginal treatment probabilities (ATE) or divide the reference weights by the
        marginal odds (ATT).
    estimand : {'ate', 'att'}

    Returns
    -------
    numpy.ndarray

    References
    ----------
    Robins JM, Hernan MA, Brumback B. Marginal structural models and causal inference in epidemiology.
    Epidemiology 2000;11(5):550-60.

    Austin PC, Stuart EA. Moving towards best practice when using inverse probability of treatment
    weighting (IPTW) using the propensity score. Stat Med 2015;34(28):3661-79.

    Sato T, Matsuyama Y. Marginal structural models as a tool for standardization. Epidemiology
    2003;14(6):680-6 (the ATT weights, "SMR weights").
    """
    if estimand not in ("ate", "att"):
        raise ModelInputError(f"estimand must be 'ate' or 'att', got {estimand!r}")
    p, t = _ps_and_treatment(ps, treatment)
    frac = t.mean()
    if estimand == "att":
        w = np.where(t == 1, 1.0, p / (1.0 - p))
        return w * np.where(t == 1, 1.0, (1.0 - frac) / frac) if stabilized else w
    w = np.where(t == 1, 1.0 / p, 1.0 / (1.0 - p))
    if stabilized:
        w = w * np.where(t == 1, frac, 1.0 - frac)
    return w


@dataclass(frozen=True)
class Truncation:
    """What :func:`truncate_weights` did: the caps and how many weights each moved."""

    weights: np.ndarray = field(repr=False)
    lower: float
    upper: float
    n_lower: int
    n_upper: int


def truncate_weights(weights, treatment, percentile: float, estimand: str = "ate") -> Truncation:
    """Cap weights at their ``percentile`` quantile and raise them to their ``1 - percentile`` quantile.

    Weights above the ``percentile`` quantile are set to it and weights below the ``1 - percentile``
    quantile are set to that one (symmetric truncation, Cole and Hernan 2008). Quantiles are R's default
    (type 7, numpy's ``linear``). For the ATT, the exposed weights (1 by definition) are left alone and
    the quantiles are those of the reference group's weights, as WeightIt's ``trim()`` leaves the focal
    group's weights alone.

    Parameters
    ----------
    weights : array_like
    treatment : array_like
        1 exposed, 0 reference.
    percentile : float
        In (0.5, 1), e.g. 0.99.
    estimand : {'ate', 'att'}

    Returns
    -------
    Truncation

    References
    ----------
    Cole SR, Hernan MA. Constructing inverse probability weights for marginal structural models. Am J
    Epidemiol 2008;168(6):656-64.
    """
    if not 0.5 < percentile < 1.0:
        raise ModelInputError(f"percentile must lie in (0.5, 1), got {percentile!r}")
    w = np.asarray(weights, dtype=float)
    t = _treatment_array(treatment)
    if w.shape != t.shape or not np.isfinite(w).all():
        raise ModelInputError("weights must be finite and aligned with treatment")
    which = t == 0 if estimand == "att" else np.ones(t.shape, dtype=bool)
    lower, upper = np.quantile(w[which], [1.0 - percentile, percentile])
    out = w.copy()
    low = which & (w < lower)
    high = which & (w > upper)
    out[low] = lower
    out[high] = upper
    return Truncation(weights=out, lower=float(lower), upper=float(upper), n_lower=int(low.sum()),
                      n_upper=int(high.sum()))


def within_bounds(ps, bounds: tuple[float, float]) -> np.ndarray:
    """Rows whose propensity score lies in ``[a, b]`` (inclusive): the rows trimming keeps.

    References
    ----------
    Sturmer T, Rothman KJ, Avorn J, Glynn RJ. Treatment effects in the presence of unmeasured
    confounding: dealing with observations in the tails of the propensity score distribution. Am J
    Epidemiol 2010;172(7):843-54.
    """
    a, b = bounds
    if not 0.0 < a < b < 1.0:
        raise ModelInputError(f"trimming bounds [a, b] must satisfy 0 < a < b < 1, got {[a, b]}")
    p = np.asarray(ps, dtype=float)
    return (p >= a) & (p <= b)


def overlap_weights(ps, treatment) -> np.ndarray:
    """Overlap weights: ``1 - ps`` for exposed rows and ``ps`` for reference rows.

    They target the average treatment effect in the overlap population and give exact mean balance on
    every covariate of a logistic propensity model fitted by maximum likelihood.

    References
    ----------
    Li F, Morgan KL, Zaslavsky AM. Balancing covariates via propensity score weighting. J Am Stat Assoc
    2018;113(521):390-400.
    """
    p, t = _ps_and_treatment(ps, treatment)
    return np.where(t == 1, 1.0 - p, p)
