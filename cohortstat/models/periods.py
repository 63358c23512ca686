"""Follow-up periods: splitting follow-up at cut times (R ``survSplit``) and period-specific hazard ratios.

Choices (see docs/methods-designs.md):
- :func:`split_periods` equals ``survival::survSplit(Surv(entry, duration, event) ~ ., cut=, episode=)``:
  each row's ``(start, stop]`` is cut at every cut time strictly inside it, the event stays on the last
  piece only (0 on the others), and the episode is ``1 + (number of cuts <= piece start)``;
- :func:`period_hazard_ratios` keeps the follow-up inside the requested periods (the pieces outside
  every period are dropped: delayed entry handles the rest), fits ``exposure x period`` (R
  ``exposure:strata(tgroup)``) with the other covariates common to all periods and the baseline
  hazard shared (or stratified by ``strata``), and tests heterogeneity against the model with one
  exposure coefficient (likelihood ratio, L - 1 df; and Wald test of equal coefficients).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError

from ._design import survival_arrays
from ._effect_modification import (column_frame, events_by, exposure_codes, fit_by_level, level_rows,
                                   model_columns)
from ._results import TestResult
from .cox import CoxResult


def _check_cuts(cuts) -> np.ndarray:
    c = np.unique(np.asarray(cuts, dtype=float).ravel())
    if c.size == 0 or not np.isfinite(c).all():
        raise ModelInputError("cuts must be one or more finite times, e.g. cuts=[365, 730]")
    return c


def split_periods(df: pd.DataFrame, duration: str, event: str, cuts: Sequence[float], *, entry: str | None = None,
                  episode: str = "episode", start: str = "tstart") -> pd.DataFrame:
    """Split each row's follow-up ``(entry, duration]`` at the cut times (R ``survSplit``).

    Parameters
    ----------
    df : pandas.DataFrame, one row per subject or per ``(entry, duration]`` interval.
    duration, event : exit-time column and event-code column (0 censored, k > 0 event of cause k).
    cuts : cut times (sorted and de-duplicated here, as ``survSplit`` does).
    entry : entry-time column; without it follow-up starts at 0 and a column ``start`` is added.
    episode : name of the new column numbering the interval between cuts (1 = before the first cut).
    start : name of the start column added when ``entry`` is None.

    Returns
    -------
    pandas.DataFrame, one row per piece, the rows of a subject together in input order, the input
    index repeated; ``duration`` holds the piece's stop, the entry (or ``start``) column its start,
    ``event`` the event code on the last piece and 0 before, ``episode`` the interval number.

    Raises
    ------
    ModelInputError
        unknown columns, negative or missing times, entry >= exit, non-finite cuts, a column named
        like ``episode`` or ``start`` already present.
    """
    pieces = _split(df, duration, event, cuts, entry, [episode] + ([start] if entry is None else []))
    out = df.iloc[pieces.row].copy()
    out[duration] = _like(pieces.stop, df[duration])
    out[event] = pieces.event.astype(df[event].dtype)
    if entry is None:
        out.insert(out.columns.get_loc(duration), start, pieces.start)
    else:
        out[entry] = _like(pieces.start, df[entry])
    out[episode] = (1 + np.searchsorted(pieces.cuts, pieces.start, side="right")).astype(np.int64)
    return out


@dataclass(frozen=True)
class _Pieces:
    """Rows split at the cuts (private): the input row, start, stop and event code of every piece."""

    row: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    cuts: np.ndarray


def _split(df: pd.DataFrame, duration: str, event: str, cuts, entry: str | None, new: list[str]) -> _Pieces:
    """Validate the input of :func:`split_periods` (``new``: the columns it adds) and cut every row."""
    t, e, en, _ = survival_arrays(df, duration, event, entry=entry)
    c = _check_cuts(cuts)
    clash = [n for n in new if n in df.columns]
    if clash:
        raise ModelInputError(f"column(s) {clash} already exist in the data; pass other names with episode=/start=")
    st = np.zeros_like(t) if en is None else en
    first = np.searchsorted(c, st, side="right")  # first cut > start
    inside = np.maximum(np.searchsorted(c, t, side="left") - first, 0)  # cuts with start < cut < stop
    reps = inside + 1
    row = np.repeat(np.arange(len(df)), reps)
    k = np.arange(row.size) - np.repeat(np.cumsum(reps) - reps, reps)  # piece number within its row
    last = k == inside[row]
    piece_start = np.where(k == 0, st[row], c[np.minimum(first[row] + k - 1, c.size - 1)])
    piece_stop = np.where(last, t[row], c[np.minimum(first[row] + k, c.size - 1)])
    return _Pieces(row, piece_start, piece_stop, np.where(last, e[row], 0), c)


def _like(values: np.ndarray, like: pd.Series) -> np.ndarray:
    """``values`` in ``like``'s dtype when they fit it without loss (integer days stay integers)."""
    return values.astype(like.dtype) if _exact(values, like) else values


def _exact(values: np.ndarray, like: pd.Series) -> bool:
    """Whether ``values`` fit ``like``'s dtype without loss (integer days stay integers)."""
    return pd.api.types.is_integer_dtype(like.dtype) and bool(np.all(values == np.round(values)))


@dataclass(frozen=True)
class PeriodResult:
    """Result of :func:`period_hazard_ratios` (frozen).

    Attributes
    ----------
    table : pandas.DataFrame, one row per period: ``period, start, end, coef, se, hr, ci_lower,
        ci_upper, p, events_exposed, events_reference, person_time_exposed, person_time_reference,
        rate_exposed, rate_reference`` (rates per unit of time of ``duration``).
    heterogeneity_lr, heterogeneity_wald : TestResult (L - 1 df): equal hazard ratio in every period.
    common, by_period : CoxResult of the one-coefficient and the period-specific models.
    notes : what happened to the data.
    """

    table: pd.DataFrame
    heterogeneity_lr: TestResult
    heterogeneity_wald: TestResult
    common: CoxResult
    by_period: CoxResult
    notes: tuple[str, ...]


def check_periods(periods) -> list[tuple[float, float]]:
    """Validate ``[[start, end], ...]``: finite, start < end, sorted and not overlapping."""
    try:
        ps = [(float(a), float(b)) for a, b in periods]
    except (TypeError, ValueError) as exc:
        raise ModelInputError("periods must be a list of [start, end] pairs, e.g. [[365, 730], [730, 1825]]") from exc
    if not ps:
        raise ModelInputError("periods is empty; give at least two [start, end] pairs")
    for a, b in ps:
        if not (np.isfinite(a) and b > a and a >= 0):
            raise ModelInputError(f"period [{a:g}, {b:g}] must have 0 <= start < end (end may be inf)")
    for (a0, b0), (a1, b1) in zip(ps, ps[1:]):
        if a1 < b0:
            raise ModelInputError(f"periods [{a0:g}, {b0:g}] and [{a1:g}, {b1:g}] overlap or are not in "
                                  "increasing order; sort them and make each start at or after the previous end")
    return ps


def _period_pieces(df: pd.DataFrame, duration: str, event: str, entry: str | None, ps: list[tuple[float, float]],
                   keep: Sequence[str]):
    """Follow-up split at the period bounds, restricted to the periods: pieces (the columns ``keep`` and the
    survival columns only), period index, entry column, notes.

    The pieces are those of :func:`split_periods` (same checks, same values and dtypes, without its
    ``episode`` column) inside the periods; each column is gathered once, for those pieces only."""
    cuts = sorted({v for p in ps for v in p if np.isfinite(v)})
    work = model_columns(df, keep, duration, event, entry)
    ent = entry
    if entry is None:
        ent = "__entry"
        work = column_frame(work, work.columns, {ent: 0.0})  # (DataFrame.assign, without a copy)
    pieces = _split(work, duration, event, cuts, ent, ["__episode"])
    pid = np.full(len(pieces.row), -1)
    for k, (a, b) in enumerate(ps):
        pid[(pieces.start >= a) & (pieces.start < b)] = k
    notes = []
    if (pid < 0).any():
        notes.append(f"{int((pid < 0).sum())} follow-up piece(s) outside every period not used")
    used = np.flatnonzero(pid >= 0)
    return _gather(work, pieces, used, duration, event, ent), pid[used], ent, notes


def _gather(work: pd.DataFrame, pieces: _Pieces, used: np.ndarray, duration: str, event: str,
            entry: str) -> pd.DataFrame:
    """The pieces ``used`` as :func:`split_periods` makes them (its columns but ``episode``), index 0..n-1."""
    rows = pieces.row[used]
    columns = {c: work[c].array.take(rows) for c in work.columns if c not in (duration, event, entry)}
    columns[duration] = _like(pieces.stop, work[duration])[used]
    columns[event] = pieces.event[used].astype(work[event].dtype)
    columns[entry] = _like(pieces.start, work[entry])[used]
    return pd.DataFrame({c: columns[c] for c in work.columns}, copy=False)


def period_hazard_ratios(df: pd.DataFrame, duration: str, event: str, exposure: str,
                         periods: Sequence[Sequence[float]], *, covariates: Sequence[str] = (),
                         entry: str | None = None, strata: str | None = None, weights: str | None = None,
                         cluster: str | None = None, ties: str = "efron", cause: int = 1,
                         level: float = 0.95) -> PeriodResult:
    """Hazard ratio of ``exposure`` in each follow-up period, with a test of heterogeneity.

    Parameters
    ----------
    df : pandas.DataFrame, one row per subject (or per ``(entry, duration]`` interval).
    duration, event : exit time and event code (0 censored; ``cause`` is modelled, other codes censored).
    exposure : 0/1 column (1 = exposed).
    periods : ``[[start, end], ...]`` on the time scale of ``duration``, increasing, not overlapping
        (``end`` may be ``inf``); follow-up outside every period is not used.
    covariates, entry, strata, weights, cluster, ties : as :meth:`cohortstat.models.CoxPH.fit`.
    level : confidence level of the intervals.

    Returns
    -------
    PeriodResult

    Raises
    ------
    ModelInputError
        bad periods, a non-binary exposure, a period without any event (its hazard ratio is not
        estimable), or anything :meth:`CoxPH.fit` rejects.

    References
    ----------
    Therneau T, Crowson C, Atkinson E (2024). Using time dependent covariates and time dependent
    coefficients in the Cox model (survival package vignette), section on step functions.
    """
    ps = check_periods(periods)
    if len(ps) < 2:
        raise ModelInputError("give at least two periods to compare hazard ratios between them")
    exposure_codes(df, exposure)
    pieces, pid, ent, notes = _period_pieces(df, duration, event, entry, ps,
                                             [exposure, *covariates, *(c for c in (strata, weights, cluster) if c)])
    status = (pieces[event].to_numpy() == cause).astype(float)
    ev_per = np.bincount(pid, weights=status, minlength=len(ps))
    if (ev_per == 0).any():
        k = int(np.flatnonzero(ev_per == 0)[0])
        raise ModelInputError(f"period ({ps[k][0]:g}, {ps[k][1]:g}] has no events of cause {cause}; "
                              "its hazard ratio cannot be estimated - merge it with a neighbouring period")
    fits = fit_by_level(pieces, pid, len(ps), exposure, duration=duration, event=event, covariates=covariates,
                        strata=strata, entry=ent, weights=weights, cluster=cluster, ties=ties, cause=cause)
    x = pieces[exposure].to_numpy(float)
    pt = pieces[duration].to_numpy(float) - pieces[ent].to_numpy(float)
    ev = events_by(pid, len(ps), x, status)
    time = events_by(pid, len(ps), x, status, amount=pt)
    table = level_rows(fits, level)
    table.insert(0, "end", [b for _, b in ps])
    table.insert(0, "start", [a for a, _ in ps])
    table.insert(0, "period", [f"({a:g}, {b:g}]" for a, b in ps])
    table["events_exposed"], table["events_reference"] = ev[:, 1], ev[:, 0]
    table["person_time_exposed"], table["person_time_reference"] = time[:, 1], time[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rate_exposed"], table["rate_reference"] = ev[:, 1] / time[:, 1], ev[:, 0] / time[:, 0]
    if weights is not None or cluster is not None:
        notes.append("weighted or clustered fit: prefer the Wald test of heterogeneity (the likelihood-ratio "
                     "test assumes independent unweighted rows)")
    notes.extend(fits.by_level.notes)
    return PeriodResult(table, fits.lr_test, fits.wald_test, fits.common, fits.by_level, tuple(notes))
