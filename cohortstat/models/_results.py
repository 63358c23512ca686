"""Immutable result base class shared by the hazard regression models (Cox, Fine-Gray).

A result holds the coefficient vector, its model-based and (optionally) robust standard errors,
the log partial likelihoods at zero and at the estimate, and produces one tidy table with the
fixed columns ``term, coef, hr, se, robust_se, ci_lower, ci_upper, z, p`` (the confidence
interval and z use the robust standard error when there is one, as R's ``summary.coxph`` does).
Every array and Series a result exposes is a read-only copy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.errors import ModelInputError
from cohortstat.models.design import DesignSpec

TABLE_COLUMNS = ("term", "coef", "hr", "se", "robust_se", "ci_lower", "ci_upper", "z", "p")


@dataclass(frozen=True)
class TestResult:
    """A chi-square test: statistic, degrees of freedom, p-value (and what was tested)."""

    __test__ = False  # not a pytest class

    stat: float
    df: int
    p: float
    name: str = ""

    def __str__(self) -> str:
        head = f"{self.name}: " if self.name else ""
        return f"{head}chi-square = {self.stat:.4g} on {self.df} df, p = {self.p:.4g}"


def chisq_test(stat: float, df: int, name: str = "") -> TestResult:
    return TestResult(stat=float(stat), df=int(df), p=float(stats.chi2.sf(stat, df)), name=name)


def frozen_array(a):
    """A read-only copy of an array (None stays None)."""
    if a is None:
        return None
    out = np.array(a, dtype=float, copy=True)
    out.flags.writeable = False
    return out


def frozen_series(values, index, name: str) -> pd.Series:
    """A Series over a read-only copy of ``values``."""
    return pd.Series(frozen_array(values), index=pd.Index(list(index), name="term"), name=name, copy=False)


def frozen_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose numeric columns are read-only."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c].dtype):
            out[c] = pd.Series(frozen_array(out[c].to_numpy()), index=out.index, copy=False)
    return out


def _freeze_field(value):
    if isinstance(value, pd.Series):
        return pd.Series(frozen_array(value.to_numpy(dtype=float)), index=value.index, name=value.name, copy=False)
    if isinstance(value, pd.DataFrame):
        return frozen_frame(value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return frozen_array(value)
    return value


@dataclass(frozen=True)
class RegressionResult:
    """Base of the hazard-regression results (frozen; every array and Series read-only).

    Attributes
    ----------
    coef, se : pandas.Series indexed by term (``se``: model-based standard error).
    robust_se : pandas.Series or None (None unless a robust or clustered variance was asked).
    var, robust_var : covariance matrices (numpy arrays) of the estimate; ``var`` is the variance the
        ``se`` comes from, ``robust_var`` the sandwich variance ``robust_se`` comes from (or None).
    loglik_null, loglik : log partial likelihood at beta = 0 and at the estimate.
    n, n_events : rows used and events of the modelled cause.
    iterations : Newton-Raphson iterations (``iter_max + 1`` when they ran out, as R reports).
    converged : bool.
    notes : tuple of str saying what happened to the data and the fit.
    wald_test, score_test, lr_test : TestResult (global tests of beta = 0).
    design : DesignSpec, how the covariates were coded (rebuilds the design for new data).
    infinite : tuple of str, the terms whose estimate may be infinite (monotone likelihood).
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
    design: DesignSpec | None = field(default=None, repr=False, compare=False)
    infinite: tuple[str, ...] = ()

    def __post_init__(self):
        for f in fields(self):
            if f.name.startswith("_"):
                continue
            value = getattr(self, f.name)
            frozen = _freeze_field(value)
            if frozen is not value:
                object.__setattr__(self, f.name, frozen)

    @property
    def terms(self) -> tuple[str, ...]:
        """The design-column names, in the order of ``coef``."""
        return tuple(self.coef.index)

    @property
    def hazard_ratio(self) -> pd.Series:
        """``exp(coef)``: hazard ratios (subdistribution hazard ratios for Fine-Gray)."""
        return np.exp(self.coef)

    @property
    def variance_used(self) -> np.ndarray:
        """The variance tests and intervals use: ``robust_var`` when present, else ``var``."""
        return self.var if self.robust_var is None else self.robust_var

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """One row per term: ``term, coef, hr, se, robust_se, ci_lower, ci_upper, z, p``.

        ``ci_lower``/``ci_upper`` are on the hazard-ratio scale; they and ``z``/``p`` use the
        robust standard error when present. A term listed in ``infinite`` keeps its (huge) finite
        estimate; check ``notes``.
        """
        if not 0.0 < level < 1.0:
            raise ModelInputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
        zq = stats.norm.ppf(0.5 + level / 2.0)
        coef = self.coef.to_numpy()
        se = self.se.to_numpy()
        rse = None if self.robust_se is None else self.robust_se.to_numpy()
        use = se if rse is None else rse
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
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

    # -- tests of several terms ---------------------------------------------------------------
    def _select_terms(self, spec) -> list[int]:
        terms = list(self.terms)
        if isinstance(spec, str):
            spec = [spec]
        idx: list[int] = []
        by_column = {} if self.design is None else {
            c: [terms[j] for j in cols] for c, cols in self.design.term_columns.items()}
        for s in spec:
            if s in terms:
                names = [s]
            elif s in by_column:
                names = by_column[s]
            else:
                names = [t for t in terms if re.fullmatch(re.escape(s) + r"(\[.*\])?", t)]
            if not names:
                choices = list(dict.fromkeys([*by_column, *terms]))
                raise ModelInputError(f"no model term matches {s!r}; choose among {choices}")
            idx.extend(terms.index(t) for t in names if terms.index(t) not in idx)
        return idx

    def test(self, terms: str | Sequence[str], method: str = "wald") -> TestResult:
        """Joint test that every coefficient of ``terms`` is 0.

        ``terms``: a term name (``'age_band[65+]'``), an input column (all its dummy terms), a
        formula term label (``'exposure:age_band'``: every column of that interaction), or a list
        of them. ``method="wald"`` uses the robust variance when the fit has one (as R's
        ``linearHypothesis`` with ``vcov = vcov(fit)``); ``method="lr"`` (CoxPH) refits without
        those terms on the same rows and compares the log partial likelihoods (R ``anova(reduced,
        full)``).
        """
        if method == "lr":
            return self._lr_test(terms)
        if method != "wald":
            raise ModelInputError(f"method must be 'wald' or 'lr', got {method!r}")
        idx = self._select_terms(terms)
        b = self.coef.to_numpy()[idx]
        v = self.variance_used[np.ix_(idx, idx)]
        stat = float(b @ np.linalg.solve(v, b))
        label = terms if isinstance(terms, str) else ", ".join(terms)
        return chisq_test(stat, len(idx), name=f"Wald test of {label}")

    def _lr_test(self, terms) -> TestResult:
        raise ModelInputError(f"{type(self).__name__} has no likelihood-ratio test of terms; use method='wald'")

    # -- text ---------------------------------------------------------------------------------
    def _title(self) -> str:
        return type(self).__name__

    def summary(self, level: float = 0.95) -> str:
        """A text summary: the coefficient table, global tests, convergence and notes."""
        tab = self.table(level)
        lines = [self._title(), f"n = {self.n}, events = {self.n_events}", ""]
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            lines.append(tab.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        lines.append("")
        lines.append(f"log-likelihood: {self.loglik:.6g} (null {self.loglik_null:.6g})")
        for name, t in (("likelihood ratio", self.lr_test), ("Wald", self.wald_test), ("score", self.score_test)):
            lines.append(f"{name} test: {t.stat:.4g} on {t.df} df, p = {t.p:.4g}")
        status = "converged" if self.converged else "did NOT converge"
        lines.append(f"Newton-Raphson: {status} in {self.iterations} iteration(s)")
        if self.infinite:
            lines.append(f"possibly infinite estimate(s): {', '.join(self.infinite)}")
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  - {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """The coefficient table as HTML (Jupyter); see :mod:`cohortstat.display`."""
        from cohortstat.display import regression_html

        return regression_html(self)
