"""Input validation and design matrices shared by the regression models.

Every check raises :class:`~cohortstat.errors.ModelInputError` with a message that says what to
do. Covariates are coded by :class:`~cohortstat.models.design.DesignSpec` (one rule for every model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError
from cohortstat.models.design import DesignSpec, check_frame, numeric_values


@dataclass(frozen=True)
class Design:
    """A numeric design matrix and how its columns map back to the input columns."""

    X: np.ndarray  # (n, p) float64, F order, centred
    terms: tuple[str, ...]  # one name per column of X
    term_columns: dict[str, tuple[int, ...]]  # input column -> indices of its columns in X
    center: np.ndarray  # (p,) weighted column means subtracted from X
    absmax: np.ndarray  # (p,) max |x| of each column before centring
    spec: DesignSpec | None = None  # how the covariates were coded


def check_columns(df: pd.DataFrame, names: Sequence[str], role: str) -> None:
    """Raise if ``df`` is not a DataFrame or a named column is absent."""
    check_frame(df, names, role)


def numeric_column(df: pd.DataFrame, name: str, role: str) -> np.ndarray:
    """A column as float64, rejecting NaN, infinities and non-numeric types."""
    return numeric_values(df[name], name, role)


def design_matrix(df: pd.DataFrame, covariates: Sequence[str] | DesignSpec, weights: np.ndarray,
                  missing: str = "raise") -> Design:
    """The centred design matrix of :class:`~cohortstat.models.design.DesignSpec` (learnt from ``df``
    unless a spec is given).

    X is column-major (each column contiguous: the cheap layout to build from a data frame's
    columns) and each column is centred by its ``weights``-weighted mean (``Design.center``);
    ``Design.absmax`` keeps each column's largest absolute value before centring (the scale a
    constant-column check compares with).
    """
    spec = covariates if isinstance(covariates, DesignSpec) else DesignSpec.from_frame(df, covariates, missing)
    X = spec.matrix(df)
    wsum = float(weights.sum())
    center = np.empty(X.shape[1])
    absmax = np.empty(X.shape[1])
    for j in range(X.shape[1]):
        c = X[:, j]
        center[j] = float(weights @ c) / wsum
        absmax[j] = max(abs(float(c.max())), abs(float(c.min())))
        c -= center[j]
    return Design(X=X, terms=spec.terms, term_columns=spec.term_columns, center=center, absmax=absmax, spec=spec)


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


def event_status(ecode: np.ndarray, event: str, cause: int, competing: Sequence[int] | None) -> np.ndarray:
    """Check the event coding and return 0 censored / 1 cause / 2 competing (int8).

    Allowed codes: 0 (censored), ``cause``, and the ``competing`` codes (every other positive
    integer when ``competing`` is None). A column with no 0 and exactly the codes 1 and 2 is
    refused when ``competing`` is None: it is R's ``Surv(time, status)`` coding of ``survival::lung``
    (1 censored, 2 dead), which would otherwise be fitted as a model of code 1.
    """
    present = np.unique(ecode)
    if competing is None:
        if present.tolist() == [1, 2]:
            raise ModelInputError(
                f"event column {event!r} holds only the codes 1 and 2 and no 0 (censored): this looks like R's "
                "1 = censored / 2 = event coding (as in survival::lung); recode: event = status - 1. "
                "If 2 really is a competing event and no row is censored, pass competing=[2]"
            )
        allowed = None
    else:
        allowed = {0, int(cause), *(int(c) for c in competing)}
        bad = [int(v) for v in present if int(v) not in allowed]
        if bad:
            raise ModelInputError(
                f"event column {event!r} has code(s) {bad} besides 0 (censored), {cause} (the cause) and "
                f"competing {sorted(int(c) for c in competing)}; recode them (R: event = status - 1 for a 1/2 "
                "coding) or list them in competing="
            )
    return np.where(ecode == cause, 1, np.where(ecode == 0, 0, 2)).astype(np.int8)


def check_competing(competing) -> tuple[int, ...] | None:
    """Validate a ``competing=`` option (None or a list of positive integer codes)."""
    if competing is None:
        return None
    if isinstance(competing, (int, np.integer)):
        competing = [competing]
    out = tuple(int(c) for c in competing)
    if any(c < 1 for c in out) or any(c != c2 for c, c2 in zip(out, competing)):
        raise ModelInputError(f"competing must list positive integer event codes, got {competing!r}")
    return out


def strata_codes(df: pd.DataFrame, strata) -> tuple[np.ndarray, int, tuple, tuple[str, ...]]:
    """Codes 0..k-1 of one strata column or the combination of several (R ``strata(a, b)``).

    Returns (codes, number of strata, level labels, column names). Several columns give labels
    ``'a=1, b=x'`` as R does.
    """
    names = (strata,) if isinstance(strata, str) else tuple(strata)
    if not names:
        raise ModelInputError("strata is an empty list; pass None for no strata")
    check_columns(df, names, "strata")
    if len(names) == 1:
        c, uniq = pd.factorize(df[names[0]], sort=True)
        return c.astype(np.int64), len(uniq), tuple(uniq.tolist()), names
    keys = pd.MultiIndex.from_frame(df[list(names)])
    c, uniq = pd.factorize(keys, sort=True)
    labels = tuple(", ".join(f"{n}={v}" for n, v in zip(names, u)) for u in uniq)
    return c.astype(np.int64), len(uniq), labels, names
