"""Immutable result base class shared by the hazard regression models (Cox, Fine-Gray).

A result holds the coefficient vector, its model-based and (optionally) robust standard errors,
the log partial likelihoods at zero and at the estimate, and produces one tidy table with the
fixed columns ``term, coef, hr, se, robust_se, ci_lower, ci_upper, z, p`` (the confidence
interval and z use the robust standard error when there is one, as R's ``summary.coxph`` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

TABLE_COLUMNS = ("term", "coef", "hr", "se", "robust_se", "ci_lower", "ci_upper", "z", "p")


@dataclass(frozen=True)
class TestResult:
    """A chi-square test: statistic, degrees of freedom, p-value."""

    __test__ = False  # not a pytest class

    stat: float
    df: int
    p: float


def chisq_test(stat: float, df: int) -> TestResult:
    return TestResult(stat=float(stat), df=int(df), p=float(stats.chi2.sf(stat, df)))


@dataclass(frozen=True)
class RegressionResult:
    """Base of the hazard-regression results (frozen).

    Attributes
    ----------
    coef, se : pandas.Series indexed by term.
    robust_se : pandas.Series or None (None unless robust or clustered variance was asked).
    var, robust_var : covariance matrices (numpy arrays) of the estimate.
    loglik_null, loglik : log partial likelihood at beta = 0 and at the estimate.
    n, n_events : rows used and events of the modelled cause.
    iterations : Newton-Raphson iterations. converged : bool.
    notes : tuple of str saying what happened to the data and the fit.
    wald_test, score_test, lr_test : TestResult (global tests of beta = 0).
    """

    coef: pd.Series
    se: pd.Series
    robust_se: pd.Series | None
    var: np.ndarray = field(repr=False)
    robust_var: np.ndarray | None = field(repr=False)
    loglik_null: float
    loglik: float
    n: int
    n_events: int
    iterations: int
    converged: bool
    notes: tuple[str, ...]
    wald_test: TestResult
    score_test: TestResult
    lr_test: TestResult

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.coef.index)

    @property
    def hazard_ratio(self) -> pd.Series:
        return np.exp(self.coef)

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """One row per term: ``term, coef, hr, se, robust_se, ci_lower, ci_upper, z, p``.

        ``ci_lower``/``ci_upper`` are on the hazard-ratio scale; they and ``z``/``p`` use the
        robust standard error when present.
        """
        zq = stats.norm.ppf(0.5 + level / 2.0)
        coef = self.coef.to_numpy()
        se = self.se.to_numpy()
        rse = None if self.robust_se is None else self.robust_se.to_numpy()
        use = se if rse is None else rse
        with np.errstate(divide="ignore", invalid="ignore"):
            z = coef / use
        return pd.DataFrame(
            {
                "term": list(self.coef.index),
                "coef": coef,
                "hr": np.exp(coef),
                "se": se,
                "robust_se": np.full(len(coef), np.nan) if rse is None else rse,
                "ci_lower": np.exp(coef - zq * use),
                "ci_upper": np.exp(coef + zq * use),
                "z": z,
                "p": 2.0 * stats.norm.sf(np.abs(z)),
            },
            columns=list(TABLE_COLUMNS),
        )
