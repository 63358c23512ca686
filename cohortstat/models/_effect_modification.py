"""Exposure effect per level of a grouping (subgroup or follow-up period) with a heterogeneity test.

Shared by :mod:`cohortstat.models.subgroups` and :mod:`cohortstat.models.periods` (private). Two Cox
models are fitted on the same rows: the *common* model (one exposure coefficient) and the *by-level*
model (one exposure coefficient per level: ``exposure x 1[level == k]`` columns, the
parameterisation R writes ``exposure:strata(tgroup)`` or ``group + exposure:group``). The
likelihood-ratio test compares them (L - 1 degrees of freedom, R ``anova(fit0, fit1)``); the Wald test
checks that the by-level coefficients are equal (contrasts against the first level), with the robust
variance when one was asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.errors import ModelInputError

from ._design import check_columns
from ._results import TestResult, chisq_test
from .cox import CoxPH, CoxResult

PREFIX = "__exposure_at_"


def exposure_codes(df: pd.DataFrame, exposure: str) -> np.ndarray:
    """The exposure column as 0/1 float (1 = exposed); raises unless it is binary 0/1 or bool."""
    check_columns(df, [exposure], "exposure")
    s = df[exposure]
    if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)) or s.isna().any():
        raise ModelInputError(f"exposure column {exposure!r} must be 0/1 (or bool) without missing values, "
                              f"got dtype {s.dtype}; recode it as 1 = exposed, 0 = reference")
    x = s.to_numpy(dtype=float)
    if not np.isin(x, (0.0, 1.0)).all():
        raise ModelInputError(f"exposure column {exposure!r} must hold only 0 and 1; "
                              "recode it as 1 = exposed, 0 = reference")
    return x


def model_columns(df: pd.DataFrame, covariates: Sequence[str], *others: str | None) -> pd.DataFrame:
    """A frame holding only the columns a Cox fit reads (``covariates`` and the named ``others``:
    duration, event, strata, entry, weights, cluster; None skipped), in the order of ``df``.

    The fits see the same values in the same row order; a wide analysis table (one pair of columns
    per outcome) is neither copied nor consolidated (:func:`column_frame`). A missing column is left
    to the fit to report."""
    wanted = set(covariates) | {c for c in others if c is not None}
    names = [c for c in df.columns if c in wanted]
    if not df.columns.is_unique:  # a repeated name: pandas' own selection (a copy) keeps every column
        return df[names].copy()
    return column_frame(df, names)


def column_frame(df: pd.DataFrame, names: Sequence[str], new: dict | None = None) -> pd.DataFrame:
    """A frame of ``df``'s columns ``names`` then the ``new`` ones (arrays, or scalars repeated), with
    ``df``'s index; a new column replaces a column of ``names`` in its place (as ``DataFrame.assign``).

    ``df``'s columns are shared, not copied: the frame is for reading (a column set on it later is
    its own)."""
    columns = {c: df[c].array for c in names}
    for c, v in (new or {}).items():
        columns[c] = np.full(len(df), v) if np.isscalar(v) else v
    return pd.DataFrame(columns, index=df.index, copy=False)


@dataclass(frozen=True)
class LevelFits:
    """The two fits and the tests (private carrier)."""

    common: CoxResult
    by_level: CoxResult
    level_terms: tuple[str, ...]
    lr_test: TestResult
    wald_test: TestResult


def fit_by_level(df: pd.DataFrame, level_codes: np.ndarray, n_levels: int, exposure: str, *, duration: str,
                 event: str, covariates: Sequence[str], extra_common: Sequence[str] = (), strata: str | None,
                 entry: str | None, weights: str | None, cluster: str | None, ties: str, cause: int) -> LevelFits:
    """Fit the common and by-level models on ``df`` (``level_codes`` 0..n_levels-1 per row)."""
    x = exposure_codes(df, exposure)
    base = list(extra_common) + list(covariates)
    work = model_columns(df, [exposure, *base], duration, event, strata, entry, weights, cluster)
    terms = tuple(f"{PREFIX}{k}" for k in range(n_levels))
    for k, name in enumerate(terms):
        work[name] = x * (level_codes == k)
    # the same rows twice: the second fit reuses the first one's risk sets and common design columns
    common, by_level = CoxPH(ties=ties, cause=cause)._fit_same_rows(
        work, duration, event, [[exposure, *base], [*terms, *base]], strata=strata, entry=entry, weights=weights,
        cluster=cluster)
    lr = chisq_test(2.0 * (by_level.loglik - common.loglik), n_levels - 1)
    return LevelFits(common, by_level, terms, lr, _equality_wald(by_level, terms))


def _equality_wald(fit: CoxResult, terms: tuple[str, ...]) -> TestResult:
    """Wald test that the coefficients ``terms`` are all equal."""
    idx = [fit.terms.index(t) for t in terms]
    beta = fit.coef.to_numpy()[idx]
    v = (fit.var if fit.robust_var is None else fit.robust_var)[np.ix_(idx, idx)]
    C = np.hstack([-np.ones((len(idx) - 1, 1)), np.eye(len(idx) - 1)])
    d = C @ beta
    stat = float(d @ np.linalg.solve(C @ v @ C.T, d))
    return chisq_test(stat, len(idx) - 1)


def level_rows(fits: LevelFits, level: float) -> pd.DataFrame:
    """Per-level ``coef, se, hr, ci_lower, ci_upper, p`` of the by-level model (robust SE when present)."""
    tab = fits.by_level.table(level=level).set_index("term").loc[list(fits.level_terms)]
    se = tab["robust_se"].where(tab["robust_se"].notna(), tab["se"])
    z = tab["coef"] / se
    return pd.DataFrame({"coef": tab["coef"].to_numpy(), "se": se.to_numpy(), "hr": tab["hr"].to_numpy(),
                         "ci_lower": tab["ci_lower"].to_numpy(), "ci_upper": tab["ci_upper"].to_numpy(),
                         "p": 2.0 * stats.norm.sf(np.abs(z.to_numpy()))})


def events_by(level_codes: np.ndarray, n_levels: int, x: np.ndarray, status: np.ndarray, amount=None) -> np.ndarray:
    """(n_levels, 2) sums of ``amount`` (default: events ``status``) for reference (col 0) and exposed (col 1)."""
    a = status if amount is None else amount
    out = np.zeros((n_levels, 2))
    for j in (0, 1):
        m = x == j
        out[:, j] = np.bincount(level_codes[m], weights=a[m], minlength=n_levels)
    return out
