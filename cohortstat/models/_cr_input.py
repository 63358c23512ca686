"""Validation of competing-risks input for the nonparametric estimators (Aalen-Johansen, KM, Gray).

Covariates, when given, are coded by :class:`~cohortstat.models.design.DesignSpec` and missing
values follow its ``missing`` policy (``drop`` with the count in ``n_dropped``, or ``raise``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError
from cohortstat.models.design import DesignSpec, check_roles, complete_rows


@dataclass(frozen=True)
class SurvivalInput:
    """Validated arrays: times, integer events (0 = censored), design matrix and term names."""

    time: np.ndarray
    event: np.ndarray
    X: np.ndarray
    terms: tuple[str, ...]
    n_dropped: int
    spec: DesignSpec | None = None


def prepare(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str] = (),
    extra: Sequence[str] = (),
    missing: str = "drop",
) -> tuple[SurvivalInput, pd.DataFrame]:
    """Validate duration/event (and covariates); drop rows with missing values in any used column.

    Returns the validated arrays and the kept rows of ``df`` (for extra columns such as groups).
    """
    if isinstance(covariates, str):
        raise ModelInputError("covariates must be a list of column names, e.g. covariates=['exposure']")
    used = check_roles(df, covariate=covariates, survival=[duration, event], other=[e for e in extra if e is not None])
    keep, _ = complete_rows(df, used, missing)
    n_dropped = 0 if keep is None else int((~keep).sum())
    sub = df if keep is None else df.loc[keep]
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
    spec = DesignSpec.from_frame(sub, covariates, missing) if len(covariates) else None
    X = spec.matrix(sub) if spec is not None else np.zeros((len(sub), 0))
    terms = spec.terms if spec is not None else ()
    return SurvivalInput(time, ev_raw.astype(np.int64), X, terms, n_dropped, spec), sub
