"""Validation and dummy coding of competing-risks model input (Fine-Gray, Aalen-Johansen, KM).

Categorical covariates (pandas ``category``, ``object`` or ``string`` dtype) are dummy-coded with
the first level as reference, as R's ``model.matrix`` does with treatment contrasts: string columns
use their sorted observed values, ``category`` columns their category order restricted to the
observed categories. Term names are ``column[level]``. Booleans become 0/1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError


@dataclass(frozen=True)
class SurvivalInput:
    """Validated arrays: times, integer events (0 = censored), design matrix and term names."""

    time: np.ndarray
    event: np.ndarray
    X: np.ndarray
    terms: tuple[str, ...]
    n_dropped: int


def _check_columns(df: pd.DataFrame, names: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ModelInputError("expected a pandas DataFrame; convert your data with pd.DataFrame(...)")
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise ModelInputError(
            f"column(s) {missing} not found in the data; available columns: {list(df.columns)}"
        )


def design_matrix(df: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Numeric design matrix with categorical columns dummy-coded (first level is the reference)."""
    if all(pd.api.types.is_numeric_dtype(df[c].dtype) and not pd.api.types.is_bool_dtype(df[c].dtype)
           for c in covariates) and len(covariates):
        return df[list(covariates)].to_numpy(dtype=float), tuple(covariates)
    blocks: list[np.ndarray] = []
    terms: list[str] = []
    for col in covariates:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            observed = set(s.dropna().unique())
            levels = [c for c in s.cat.categories if c in observed]
        elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            levels = sorted(s.dropna().unique(), key=str)
        else:
            levels = None
        if levels is None:
            if pd.api.types.is_bool_dtype(s.dtype):
                s = s.astype(float)
            if not pd.api.types.is_numeric_dtype(s.dtype):
                raise ModelInputError(f"covariate {col!r} has unsupported dtype {s.dtype}; "
                                      "use a numeric, boolean, string or category column")
            blocks.append(s.to_numpy(dtype=float).reshape(-1, 1))
            terms.append(col)
            continue
        if len(levels) < 2:
            raise ModelInputError(
                f"categorical covariate {col!r} has fewer than two observed levels; drop it from covariates"
            )
        values = s.to_numpy(dtype=object)
        for lev in levels[1:]:
            blocks.append((values == lev).astype(float).reshape(-1, 1))
            terms.append(f"{col}[{lev}]")
        if s.isna().any():
            blocks[-1][s.isna().to_numpy(), 0] = np.nan
    if not blocks:
        return np.zeros((len(df), 0)), ()
    return np.hstack(blocks), tuple(terms)


def prepare(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> tuple[SurvivalInput, pd.DataFrame]:
    """Validate duration/event (and covariates); drop rows with missing values in any used column.

    Returns the validated arrays and the kept rows of ``df`` (for extra columns such as groups).
    """
    if isinstance(covariates, str):
        raise ModelInputError("covariates must be a list of column names, e.g. covariates=['exposure']")
    used = [duration, event, *covariates, *[e for e in extra if e is not None]]
    _check_columns(df, used)
    keep = np.ones(len(df), dtype=bool)
    for c in dict.fromkeys(used):
        keep &= df[c].notna().to_numpy()
    n_dropped = int((~keep).sum())
    sub = df if n_dropped == 0 else df.loc[keep]
    if len(sub) == 0:
        raise ModelInputError("no rows left after dropping rows with missing values")
    time = pd.to_numeric(sub[duration], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(time)):
        raise ModelInputError(f"duration column {duration!r} must be finite numbers")
    if np.any(time < 0):
        raise ModelInputError(f"duration column {duration!r} has negative times; check the follow-up dates")
    ev_raw = pd.to_numeric(sub[event], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(ev_raw)) or np.any(ev_raw < 0) or np.any(ev_raw != np.round(ev_raw)):
        raise ModelInputError(
            f"event column {event!r} must hold 0 (censored) or positive integers (causes)"
        )
    X, terms = design_matrix(sub, covariates)
    if X.size and not np.all(np.isfinite(X)):
        raise ModelInputError("covariates must be finite numbers")
    return SurvivalInput(time, ev_raw.astype(np.int64), X, terms, n_dropped), sub
