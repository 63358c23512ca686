"""Standardized mean differences: the one implementation used by Table 1 and the balance diagnostics.

``smd = (mean_exposed - mean_reference) / sqrt((var_exposed + var_reference) / 2)`` (Austin 2009). A
binary covariate (values 0/1) has ``var = p (1 - p)``; a continuous one the sample variance (``n - 1``
denominator), or with weights the "reliability weights" variance
``sum(w) / (sum(w)^2 - sum(w^2)) * sum(w (x - mean)^2)``, which is the sample variance when every
weight is 1. A categorical variable with more than two levels gets the multinomial (Mahalanobis) SMD of
Yang & Dalton (2012) in Table 1, and one indicator per level in the balance table (as R ``cobalt``).

Degenerate groups (the rule of R ``cobalt::col_w_smd``, written down here because R ``tableone``
returns ``NaN`` for a continuous and 0 for a categorical variable in the same situation):

- equal means give an SMD of 0, whatever the spread (two groups constant at the same value included);
- when both groups are constant at *different* values (pooled SD 0), the difference is standardized by
  the SD of the two groups pooled into one unweighted sample, so the SMD stays finite and large;
- the SMD is NaN only when it is undefined: an empty group (or zero total weight), or a continuous
  covariate with fewer than two persons (two non-zero weights) in a group and unequal means.

References
----------
Austin PC. Balance diagnostics for comparing the distribution of baseline covariates between treatment
groups in propensity-score matched samples. Stat Med 2009;28(25):3083-3107.
Austin PC, Stuart EA. Moving towards best practice when using inverse probability of treatment weighting
(IPTW) using the propensity score. Stat Med 2015;34(28):3661-3679.
Yang D, Dalton JE. A unified approach to measuring the effect size between two groups using SAS. SAS
Global Forum 2012, paper 335.
Greifer N. cobalt: Covariate Balance Tables and Plots (R package), ``col_w_smd``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError

__all__ = ["balance_table", "is_binary", "smd", "smd_from_summaries", "smd_multinomial", "smd_proportions",
           "weighted_moments"]

BALANCE_COLUMNS = ["covariate", "kind", "mean_exposed", "mean_reference", "smd"]


def is_binary(x: np.ndarray) -> bool:
    """Whether every value is 0 or 1 (the variance is then ``p (1 - p)``)."""
    return bool(np.isin(x, (0.0, 1.0)).all())


def _standardize(m1: float, v1: float, m0: float, v0: float, overall_var) -> float:
    """The SMD rule shared by every caller (see the module docstring); ``overall_var()`` is lazy."""
    if math.isnan(m1) or math.isnan(m0):
        return math.nan
    diff = m1 - m0
    if diff == 0:
        return 0.0
    den = math.sqrt((v1 + v0) / 2)
    if math.isnan(den):
        return math.nan
    if den == 0:
        den = math.sqrt(overall_var())
    return float(diff / den)


def _sample_moments(x: np.ndarray, binary: bool) -> tuple[float, float]:
    if x.size == 0:
        return math.nan, math.nan
    m = float(np.mean(x))
    if binary:
        return m, m * (1.0 - m)
    return m, (float(np.var(x, ddof=1)) if x.size > 1 else math.nan)


def _weighted_moments(x: np.ndarray, w: np.ndarray, binary: bool) -> tuple[float, float]:
    sw = w.sum()
    if sw <= 0:
        return math.nan, math.nan
    m = float((w * x).sum() / sw)
    if binary:
        return m, m * (1.0 - m)
    denom = sw * sw - (w * w).sum()
    if denom <= 0:
        return m, math.nan
    return m, float(sw / denom * (w * (x - m) ** 2).sum())


def _overall_var(x1: np.ndarray, x0: np.ndarray, binary: bool):
    def var() -> float:
        return _sample_moments(np.concatenate([x1, x0]), binary)[1]

    return var


def weighted_moments(x, w, *, binary: bool = False) -> tuple[float, float]:
    """Weighted mean and variance of ``x`` (reliability-weights variance; ``p (1 - p)`` when binary)."""
    return _weighted_moments(np.asarray(x, dtype=float), np.asarray(w, dtype=float), binary)


def smd(x_exposed, x_reference, *, binary: bool | None = None, weights_exposed=None,
        weights_reference=None) -> float:
    """SMD of one covariate between two groups (sample means and variances; weighted when weights are given).

    Parameters
    ----------
    x_exposed, x_reference : array_like
        The covariate's values in each group (no missing values).
    binary : bool, optional
        Use ``p (1 - p)`` as the variance; by default when every value is 0 or 1.
    weights_exposed, weights_reference : array_like, optional
        Weights of each group's values (both or neither); the moments are then the weighted ones.

    Returns
    -------
    float
        Signed SMD (exposed minus reference); see the module docstring for degenerate groups.
    """
    x1 = np.asarray(x_exposed, dtype=float)
    x0 = np.asarray(x_reference, dtype=float)
    if binary is None:
        binary = is_binary(x1) and is_binary(x0)
    if weights_exposed is not None and weights_reference is not None:
        m1, v1 = weighted_moments(x1, weights_exposed, binary=binary)
        m0, v0 = weighted_moments(x0, weights_reference, binary=binary)
    else:
        m1, v1 = _sample_moments(x1, binary)
        m0, v0 = _sample_moments(x0, binary)
    return _standardize(m1, v1, m0, v0, _overall_var(x1, x0, binary))


def smd_proportions(p_exposed: float, p_reference: float, n_exposed: int, n_reference: int) -> float:
    """SMD of a proportion: ``(p1 - p0) / sqrt((p1 (1 - p1) + p0 (1 - p0)) / 2)``.

    The group sizes are used only when both proportions are 0 or 1 and differ (the pooled proportion
    then standardizes the difference).
    """
    p1, p0 = float(p_exposed), float(p_reference)
    if n_exposed == 0 or n_reference == 0:
        return math.nan

    def overall() -> float:
        p = (p1 * n_exposed + p0 * n_reference) / (n_exposed + n_reference)
        return p * (1 - p)

    return _standardize(p1, p1 * (1 - p1), p0, p0 * (1 - p0), overall)


def smd_from_summaries(mean_exposed: float, sd_exposed: float, n_exposed: int, mean_reference: float,
                       sd_reference: float, n_reference: int) -> float:
    """SMD of a continuous covariate from group summaries (mean, sample SD, size), e.g. pooled Table 1 rows.

    Equals :func:`smd` on the underlying values (same rule for degenerate groups): when both SDs are 0
    and the means differ, the SD of the pooled sample is rebuilt from the summaries,
    ``((n1-1) s1^2 + (n0-1) s0^2 + n1 n0 / (n1+n0) (m1-m0)^2) / (n1+n0-1)``.
    """
    n1, n0 = int(n_exposed), int(n_reference)
    if n1 == 0 or n0 == 0:
        return math.nan
    m1, m0 = float(mean_exposed), float(mean_reference)
    v1, v0 = float(sd_exposed) ** 2, float(sd_reference) ** 2

    def overall() -> float:
        n = n1 + n0
        return ((n1 - 1) * v1 + (n0 - 1) * v0 + n1 * n0 / n * (m1 - m0) ** 2) / (n - 1)

    return _standardize(m1, v1, m0, v0, overall)


def smd_multinomial(p_exposed, p_reference, n_exposed: int, n_reference: int) -> float:
    """SMD of a categorical variable from its level proportions (Yang & Dalton 2012).

    Two levels: the signed SMD of the first level's proportion. More levels: the Mahalanobis distance
    ``sqrt(d' S^+ d)`` of the proportions without the first level, ``S`` the mean of the two multinomial
    covariance matrices and ``S^+`` its Moore-Penrose inverse (as R ``tableone``), so it is unsigned.
    """
    p1 = np.asarray(p_exposed, dtype=float)
    p0 = np.asarray(p_reference, dtype=float)
    if len(p1) == 2:
        return smd_proportions(p1[0], p0[0], n_exposed, n_reference)
    if n_exposed == 0 or n_reference == 0:
        return math.nan
    t, c = p1[1:], p0[1:]
    s = np.zeros((len(t), len(t)))
    for i in range(len(t)):
        for j in range(len(t)):
            if i == j:
                s[i, j] = (t[i] * (1 - t[i]) + c[i] * (1 - c[i])) / 2
            else:
                s[i, j] = (-t[i] * t[j] - c[i] * c[j]) / 2
    d = t - c
    try:
        return float(math.sqrt(max(d @ np.linalg.pinv(s) @ d, 0.0)))
    except np.linalg.LinAlgError:
        return math.nan


def _exposure_array(values, name: str) -> np.ndarray:
    t = np.asarray(values)
    try:
        tf = t.astype(float)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"{name} must be coded 1 (exposed) / 0 (reference)") from exc
    if np.isnan(tf).any() or not np.isin(tf, (0.0, 1.0)).all():
        raise ModelInputError(f"{name} must be coded 1 (exposed) / 0 (reference) with no missing value; recode it")
    return tf == 1.0


def _weights_array(df: pd.DataFrame, weights, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    if isinstance(weights, str):
        w = pd.to_numeric(_column(df, weights), errors="coerce").to_numpy(dtype=float)
    else:
        w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise ModelInputError(f"weights have {w.size} values for {n} rows; pass one weight per row")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ModelInputError("weights must be finite and non-negative")
    return w


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        raise ModelInputError(
            f"column {name!r} is not in the data; available columns: {', '.join(map(str, df.columns))}"
        )
    return df[name]


def _indicators(df: pd.DataFrame, name: str) -> list[tuple[str, np.ndarray]]:
    col = _column(df, name)
    if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
        values = col.astype(str).to_numpy()
        return [(f"{name}[{lv}]", (values == lv).astype(float)) for lv in sorted(pd.unique(values))]
    x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise ModelInputError(f"covariate {name!r} has missing values; impute or drop those rows")
    return [(str(name), x)]


def balance_table(df: pd.DataFrame, *, exposure: str, covariates, weights=None) -> pd.DataFrame:
    """Balance of covariates between the exposed and the reference rows, weighted or not.

    Parameters
    ----------
    df : pandas.DataFrame
    exposure : str
        Column coded 1 (exposed) / 0 (reference).
    covariates : sequence of str
        Numeric columns, or categorical ones (``category``/``object``/``string``), expanded to one
        indicator per level named ``column[level]``.
    weights : str or array_like, optional
        Non-negative weights (IPTW, overlap or matching weights); none means every row weighs 1
        (computed with the weighted formulas, so a weighted and an unweighted table share rounding).

    Returns
    -------
    pandas.DataFrame
        ``covariate, kind, mean_exposed, mean_reference, smd`` (``kind``: binary or continuous).
    """
    is_exp = _exposure_array(_column(df, exposure).to_numpy(), exposure)
    w = _weights_array(df, weights, is_exp.size)
    rows = []
    for name in covariates:
        for label, x in _indicators(df, name):
            binary = is_binary(x)
            x1, x0 = x[is_exp], x[~is_exp]
            w1, w0 = w[is_exp], w[~is_exp]
            m1, v1 = _weighted_moments(x1, w1, binary)
            m0, v0 = _weighted_moments(x0, w0, binary)
            value = _standardize(m1, v1, m0, v0, _overall_var(x1, x0, binary))
            rows.append({"covariate": label, "kind": "binary" if binary else "continuous",
                         "mean_exposed": m1, "mean_reference": m0, "smd": value})
    return pd.DataFrame(rows, columns=BALANCE_COLUMNS)
