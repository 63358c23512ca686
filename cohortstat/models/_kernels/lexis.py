"""Splitting follow-up on two time scales that advance together: age and calendar time (Lexis).

Pure function over arrays (no pandas). All times in days.
"""

from __future__ import annotations

import numpy as np


def lexis_pieces(length: np.ndarray, age_cuts: np.ndarray, year_cuts: np.ndarray | None):
    """Cut each follow-up ``(0, length_i]`` where it crosses an age or calendar boundary.

    Parameters
    ----------
    length : (n,) follow-up lengths (> 0).
    age_cuts : (n, a) follow-up times at which person i reaches each age boundary (any sign; only
        those strictly inside (0, length_i) cut).
    year_cuts : (n, y) follow-up times of each calendar boundary (1 January), or None.

    Returns
    -------
    row, start, stop : arrays over the pieces of positive length, rows in input order, pieces in time order.
    """
    n = length.shape[0]
    cuts = age_cuts if year_cuts is None else np.hstack([age_cuts, year_cuts])
    cuts = np.where((cuts > 0) & (cuts < length[:, None]), cuts, np.inf)
    cuts.sort(axis=1)
    bounds = np.hstack([np.zeros((n, 1)), cuts, np.full((n, 1), np.inf)])
    # replace the first inf of each row by the exit time
    k = np.argmax(~np.isfinite(bounds), axis=1)
    bounds[np.arange(n), k] = length
    start, stop = bounds[:, :-1], bounds[:, 1:]
    keep = np.isfinite(stop) & (stop > start)
    row = np.broadcast_to(np.arange(n)[:, None], start.shape)[keep]
    return row, start[keep], stop[keep]
