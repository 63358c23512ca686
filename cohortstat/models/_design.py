"""Input validation and design matrices shared by the regression models.

Every check raises :class:`~cohortstat.errors.ModelInputError` with a message that says what to
do. Categorical covariates (pandas ``category``, ``object``/string or ``bool`` columns) are
dummy coded with the first sorted level as reference, as R's treatment contrasts do; the term
names are ``column[level]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError


@dataclass(frozen=True)
class Design:
    """A numeric design matrix and how its columns map back to the input columns."""

    X: np.ndarray  # (n, p) float64, F order, centred
    terms: tuple[str, ...]  # one name per column of X
    term_columns: dict[str, tuple[int, ...]]  # input column -> indices of its columns in X
    center: np.ndarray  # (p,) weighted column means subtracted from X
    absmax: np.ndarray  # (p,) max |x| of each column before centring


def check_columns(df: pd.DataFrame, names: Sequence[str], role: str) -> None:
    """Raise if a named column is absent from ``df``."""
    if not isinstance(df, pd.DataFrame):
        raise ModelInputError(f"expected a pandas DataFrame, got {type(df).__name__}; pass df=pandas.DataFrame(...)")
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise ModelInputError(
            f"unknown {role} column(s) {missing}; available columns are {list(df.columns)[:30]}"
        )


def _is_categorical(s: pd.Series) -> bool:
    return (
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(s.dtype)
        or pd.api.types.is_string_dtype(s.dtype)
        or pd.api.types.is_bool_dtype(s.dtype)
    )


def numeric_column(df: pd.DataFrame, name: str, role: str) -> np.ndarray:
    """A column as float64, rejecting NaN, infinities and non-numeric types."""
    s = df[name]
    if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
        raise ModelInputError(f"{role} column {name!r} must be numeric, got dtype {s.dtype}")
    a = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ModelInputError(
            f"{role} column {name!r} has {int(bad.sum())} missing or infinite value(s) "
            f"(first at row {int(np.flatnonzero(bad)[0])}); drop or impute those rows before fitting"
        )
    return a


def design_matrix(df: pd.DataFrame, covariates: Sequence[str], weights: np.ndarray) -> Design:
    """The centred design matrix; categorical covariates dummy-coded (first sorted level = reference).

    X is column-major (each column contiguous: the cheap layout to build from a data frame's
    columns) and each column is written already centred by its ``weights``-weighted mean
    (``Design.center``); ``Design.absmax`` keeps each column's largest absolute value before
    centring (the scale a constant-column check compares with).
    """
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    if not covariates:
        raise ModelInputError("covariates is empty; give at least one covariate column")
    if len(set(covariates)) != len(covariates):
        raise ModelInputError(f"covariates lists a column twice: {covariates}")
    check_columns(df, covariates, "covariate")
    n = len(df)
    cols: list[np.ndarray] = []
    terms: list[str] = []
    term_columns: dict[str, tuple[int, ...]] = {}
    for name in covariates:
        s = df[name]
        if _is_categorical(s):
            raw, uniques = pd.factorize(s)  # one hashing pass; missing values get code -1
            if (raw < 0).any():
                raise ModelInputError(
                    f"covariate column {name!r} has {int((raw < 0).sum())} missing value(s); "
                    "drop those rows or code missing as its own level"
                )
            found = list(uniques)
            levels = sorted(found)
            if len(levels) < 2:
                raise ModelInputError(
                    f"covariate {name!r} has a single level {levels!r}; remove it from covariates"
                )
            position = {lev: k for k, lev in enumerate(levels)}
            code = np.array([position[u] for u in found], dtype=np.int64)[raw]  # sorted-level codes
            idx = []
            for k, lev in enumerate(levels[1:], start=1):
                idx.append(len(terms))
                terms.append(f"{name}[{lev}]")
                cols.append((code == k).astype(float))
            term_columns[name] = tuple(idx)
        else:
            a = numeric_column(df, name, "covariate")
            term_columns[name] = (len(terms),)
            terms.append(name)
            cols.append(a)
    wsum = float(weights.sum())
    X = np.empty((n, len(cols)), order="F")
    center = np.empty(len(cols))
    absmax = np.empty(len(cols))
    for j, c in enumerate(cols):
        center[j] = float(weights @ c) / wsum
        absmax[j] = max(abs(float(c.max())), abs(float(c.min())))
        np.subtract(c, center[j], out=X[:, j])
    return Design(X=X, terms=tuple(terms), term_columns=term_columns, center=center, absmax=absmax)


def check_gram(gram: np.ndarray, terms: Sequence[str], scale: np.ndarray, where: str) -> None:
    """Raise on a (near) zero diagonal or a (near) singular p x p cross-product / information matrix.

    ``scale`` (p,) is the size a diagonal entry would have without cancellation; an entry below
    1e-12 * scale is "constant". A column whose squared multiple correlation with the earlier
    columns exceeds 1 - 1e-10 is "collinear" (R coxph marks such a column NA, toler.chol).
    """
    d = np.diag(gram).copy()
    for j in range(len(terms)):
        if not d[j] > 1e-12 * max(float(scale[j]), 1e-300):
            raise ModelInputError(
                f"covariate {terms[j]!r} is constant {where}; remove it from covariates "
                "(R would report its coefficient as NA)"
            )
    sd = np.sqrt(d)
    corr = gram / np.outer(sd, sd)
    for j in range(1, len(terms)):
        c = corr[:j, :j]
        b = corr[:j, j]
        try:
            resid = 1.0 - b @ np.linalg.solve(c, b)
        except np.linalg.LinAlgError:  # pragma: no cover - earlier columns were checked
            resid = 0.0
        if resid < 1e-10:
            coefs = np.linalg.lstsq(c, b, rcond=None)[0]
            partners = [terms[i] for i in range(j) if abs(coefs[i]) > 1e-8]
            raise ModelInputError(
                f"covariate {terms[j]!r} is collinear with {partners}; remove one of them "
                "(R would report a coefficient as NA)"
            )


def codes(df: pd.DataFrame, name: str, role: str) -> tuple[np.ndarray, int]:
    """Integer codes 0..k-1 of a grouping column (strata, cluster); rejects missing values."""
    check_columns(df, [name], role)
    s = df[name]
    if s.isna().any():
        raise ModelInputError(f"{role} column {name!r} has {int(s.isna().sum())} missing value(s); fill or drop them")
    c, uniq = pd.factorize(s, sort=True)
    return c.astype(np.int64), len(uniq)


def survival_arrays(
    df: pd.DataFrame,
    duration: str,
    event: str,
    *,
    entry: str | None = None,
    weights: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Validated (time, event code, entry, weights) arrays.

    Times must be >= 0 (R survival rejects negative times only for (start, stop] with
    start >= stop; cohortstat also rejects negative exit times, which are data errors in a
    cohort), entry < exit, event codes non-negative integers, weights > 0.
    """
    names = [duration, event] + [c for c in (entry, weights) if c is not None]
    check_columns(df, names, "survival")
    if len(df) == 0:
        raise ModelInputError("the data frame has no rows")
    t = numeric_column(df, duration, "duration")
    if (t < 0).any():
        i = int(np.flatnonzero(t < 0)[0])
        raise ModelInputError(
            f"duration column {duration!r} has {int((t < 0).sum())} negative value(s) (first at row {i}: {t[i]}); "
            "check how follow-up time was computed"
        )
    e = numeric_column(df, event, "event")
    if (e < 0).any() or (e != np.round(e)).any():
        raise ModelInputError(
            f"event column {event!r} must hold 0 (censored) or positive integer cause codes"
        )
    en = None
    if entry is not None:
        en = numeric_column(df, entry, "entry")
        bad = en >= t
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ModelInputError(
                f"entry >= exit in {int(bad.sum())} row(s) (first at row {i}: entry {en[i]}, exit {t[i]}); "
                "(start, stop] intervals must have start < stop - drop zero-length intervals"
            )
    w = np.ones(len(df))
    if weights is not None:
        w = numeric_column(df, weights, "weights")
        if (w <= 0).any():
            raise ModelInputError(
                f"weights column {weights!r} has {int((w <= 0).sum())} value(s) <= 0; drop those rows or use positive weights"
            )
    return t, e.astype(np.int64), en, w
