"""Validated input of the non-parametric tools (Kaplan-Meier, Aalen-Johansen, log-rank, concordance).

One missing-data policy for all of them: ``missing="drop"`` (default) drops the rows with a missing
value in any column the call uses and warns with :class:`~cohortstat.errors.DataCheckWarning` naming
the count and the columns (R's ``na.action = na.omit`` plus a message); ``missing="raise"`` raises
:class:`~cohortstat.errors.ModelInputError` instead.

Times: ``duration`` finite and >= 0; ``entry`` (delayed entry, counting-process ``(entry, duration]``
data as R ``Surv(start, stop, event)``) finite and strictly below ``duration`` (R: "Stop time must be
> start time"). ``event``: 0 censored, positive integers the causes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohortstat.errors import DataCheckWarning, ModelInputError

MISSING_POLICIES = ("drop", "raise")


@dataclass(frozen=True)
class SurvData:
    """Validated arrays of the kept rows: exit times, integer events, entry times (None: no entry)."""

    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray | None
    n_dropped: int


def _check_columns(df: pd.DataFrame, names: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ModelInputError("expected a pandas DataFrame; convert your data with pd.DataFrame(...)")
    absent = [c for c in names if c not in df.columns]
    if absent:
        raise ModelInputError(
            f"column(s) {absent} not found in the data; available columns: {list(df.columns)}"
        )


def drop_missing(df: pd.DataFrame, used: Sequence[str], missing: str, caller: str) -> pd.DataFrame:
    """Apply the missing-data policy to the columns ``used``; return the kept rows."""
    if missing not in MISSING_POLICIES:
        raise ModelInputError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
    cols = list(dict.fromkeys(used))
    _check_columns(df, cols)
    na = df[cols].isna().to_numpy()
    bad = na.any(axis=1)
    k = int(bad.sum())
    if k == 0:
        return df
    where = [c for c, hit in zip(cols, na.any(axis=0)) if hit]
    if missing == "raise":
        raise ModelInputError(
            f"{caller}: {k} of {len(df)} rows have a missing value in {where}; drop or impute them, "
            "or pass missing='drop'"
        )
    warnings.warn(
        f"{caller}: dropped {k} of {len(df)} rows with a missing value in {where} "
        "(pass missing='raise' to stop instead)",
        DataCheckWarning,
        stacklevel=3,
    )
    sub = df.loc[~bad]
    if len(sub) == 0:
        raise ModelInputError(f"{caller}: no rows left after dropping rows with missing values")
    return sub


def _numbers(sub: pd.DataFrame, col: str, what: str) -> np.ndarray:
    x = pd.to_numeric(sub[col], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(x)):
        raise ModelInputError(f"{what} column {col!r} must hold finite numbers")
    return x


def survival_input(
    df: pd.DataFrame,
    duration: str,
    event: str,
    *,
    entry: str | None = None,
    extra: Sequence[str | None] = (),
    missing: str = "drop",
    caller: str = "",
) -> tuple[SurvData, pd.DataFrame]:
    """Validate duration/event/entry, apply the missing-data policy; return arrays and kept rows."""
    used = [duration, event, *([entry] if entry is not None else []), *[c for c in extra if c is not None]]
    n0 = len(df) if isinstance(df, pd.DataFrame) else 0
    sub = drop_missing(df, used, missing, caller)
    if len(sub) == 0:
        raise ModelInputError(f"{caller}: the data has no rows")
    time = _numbers(sub, duration, "duration")
    if np.any(time < 0):
        raise ModelInputError(f"duration column {duration!r} has negative times; check the follow-up dates")
    ev = _numbers(sub, event, "event")
    if np.any(ev < 0) or np.any(ev != np.round(ev)):
        raise ModelInputError(f"event column {event!r} must hold 0 (censored) or positive integers (causes)")
    start = None
    if entry is not None:
        start = _numbers(sub, entry, "entry")
        if np.any(start >= time):
            k = int((start >= time).sum())
            raise ModelInputError(
                f"{k} rows have entry {entry!r} >= duration {duration!r}; follow-up is the interval "
                "(entry, duration], so entry must be strictly earlier: drop or fix these rows"
            )
    return SurvData(time, ev.astype(np.int64), start, n0 - len(sub)), sub


def group_masks(sub: pd.DataFrame, group: str | None) -> list[tuple[object, np.ndarray]]:
    """(level, row mask) per observed level: category order for a Categorical, sorted otherwise (as R)."""
    if group is None:
        return [(None, np.ones(len(sub), dtype=bool))]
    g = sub[group]
    levels = list(g.cat.categories) if isinstance(g.dtype, pd.CategoricalDtype) else sorted(g.unique())
    vals = g.to_numpy()
    return [(lev, vals == lev) for lev in levels if (vals == lev).any()]


def codes(sub: pd.DataFrame, col: str | None) -> np.ndarray:
    """Integer codes 0..k-1 of a column in the order of :func:`group_masks` (zeros when ``col`` is None)."""
    out = np.zeros(len(sub), dtype=np.int64)
    if col is not None:
        for k, (_, m) in enumerate(group_masks(sub, col)):
            out[m] = k
    return out


def strata_codes(sub: pd.DataFrame, strata: str | Sequence[str] | None) -> np.ndarray:
    """Integer stratum codes 0..s-1 from one or several columns (zeros when there are none)."""
    names = [] if strata is None else [strata] if isinstance(strata, str) else list(strata)
    if not names:
        return np.zeros(len(sub), dtype=np.int64)
    return sub.groupby(names, sort=True, observed=True).ngroup().to_numpy(dtype=np.int64)
