"""Pair counts and per-subject influence of Harrell's concordance, O(n log n) with Fenwick trees.

A pair (i, j) is comparable when i has an event at y_i and j outlives it: y_j > y_i, or y_j = y_i and
j is censored (censored at the event time still counts as longer, as R ``survival``). With score x
(larger x predicts *longer* survival, R's ``reverse = FALSE``) it is concordant when x_j > x_i,
discordant when x_j < x_i, tied on x otherwise. Two events at the same time are tied on y (and on x
and y when their scores are equal too); such pairs are not comparable. Each pair has weight w_i w_j.

With delayed entry the comparison set of an event at t is the risk set {entry < t <= time} minus
the events at t. ``influence[i, k]`` (k = concordant, discordant, tied on x) is the summed partner weight of subject
i's comparable pairs of kind k, in either role; R's ``concordancefit`` turns it into the
infinitesimal-jackknife variance.

Inputs of :func:`concordance_counts` are one stratum sorted by time (ascending); ``rank`` holds the
score as integer ranks 0..K-1.
"""

from __future__ import annotations

import numpy as np

from cohortstat.models._kernels._jit import numba


@numba.njit(cache=True)
def _add(tree, i, v):  # pragma: no cover - compiled
    i += 1
    while i < tree.size:
        tree[i] += v
        i += i & (-i)


@numba.njit(cache=True)
def _below(tree, i):  # pragma: no cover - compiled
    """Sum of the weights at ranks < i."""
    s = 0.0
    while i > 0:
        s += tree[i]
        i -= i & (-i)
    return s


@numba.njit(cache=True)
def _earlier_pass(time, event, rank, w, k, start, by_start, counts, infl):  # pragma: no cover - compiled
    """Descending time: each event against those at risk who outlive it (counts, the event's influence)."""
    n = time.size
    tree = np.zeros(k + 1)
    eq = np.zeros(k)
    grp_eq = np.zeros(k)
    total = 0.0
    p = n - 1  # by_start: rows by entry ascending; rows entering at or after t leave the risk set
    hi = n - 1
    while hi >= 0:
        lo = hi
        while lo > 0 and time[lo - 1] == time[hi]:
            lo -= 1
        while p >= 0 and start[by_start[p]] >= time[hi]:
            i = by_start[p]
            _add(tree, rank[i], -w[i])
            eq[rank[i]] -= w[i]
            total -= w[i]
            p -= 1
        for i in range(lo, hi + 1):  # censored at this time outlive the events at it
            if event[i] == 0:
                _add(tree, rank[i], w[i])
                eq[rank[i]] += w[i]
                total += w[i]
        grp_w = 0.0
        for i in range(lo, hi + 1):
            if event[i] == 0:
                continue
            r = rank[i]
            below = _below(tree, r)
            tied = eq[r]
            above = total - below - tied
            counts[0] += w[i] * above
            counts[1] += w[i] * below
            counts[2] += w[i] * tied
            infl[i, 0] += above
            infl[i, 1] += below
            infl[i, 2] += tied
            counts[3] += w[i] * grp_w  # tied on time (tied on x and time removed below)
            counts[4] += w[i] * grp_eq[r]
            grp_w += w[i]
            grp_eq[r] += w[i]
        for i in range(lo, hi + 1):
            if event[i] != 0:
                grp_eq[rank[i]] = 0.0
                _add(tree, rank[i], w[i])
                eq[rank[i]] += w[i]
                total += w[i]
        hi = lo - 1
    counts[3] -= counts[4]


@numba.njit(cache=True)
def _query(tree, eq, total, i, rank, infl, sign):  # pragma: no cover - compiled
    r = rank[i]
    below = _below(tree, r)
    tied = eq[r]
    infl[i, 0] += sign * below
    infl[i, 1] += sign * (total - below - tied)
    infl[i, 2] += sign * tied


@numba.njit(cache=True)
def _later_pass(time, event, rank, w, k, start, by_start, infl):  # pragma: no cover - compiled
    """Ascending time: each subject's influence as the longer-lived member of a pair (events during
    its follow-up: those up to its exit minus those up to its entry)."""
    n = time.size
    tree = np.zeros(k + 1)
    eq = np.zeros(k)
    total = 0.0
    p = 0
    lo = 0
    while lo < n:
        hi = lo
        while hi + 1 < n and time[hi + 1] == time[lo]:
            hi += 1
        while p < n and start[by_start[p]] < time[lo]:  # the tree holds the events up to this entry
            _query(tree, eq, total, by_start[p], rank, infl, -1.0)
            p += 1
        for step in range(2):  # 0: events at t see earlier events; 1: censored at t also see events at t
            if step == 1:
                for i in range(lo, hi + 1):
                    if event[i] != 0:
                        _add(tree, rank[i], w[i])
                        eq[rank[i]] += w[i]
                        total += w[i]
            for i in range(lo, hi + 1):
                if (event[i] != 0) == (step == 0):
                    _query(tree, eq, total, i, rank, infl, 1.0)
        lo = hi + 1


def concordance_counts(time: np.ndarray, event: np.ndarray, rank: np.ndarray, w: np.ndarray,
                       entry: np.ndarray | None = None):
    """Counts (concordant, discordant, tied.x, tied.y, tied.xy) and influence (n x 3) of one stratum.

    With ``entry`` (counting-process data) a subject is compared only at event times t in
    (entry, time], as R's ``concordance`` on ``Surv(entry, time, event)``.
    """
    k = int(rank.max()) + 1 if rank.size else 1
    counts = np.zeros(5)
    infl = np.zeros((time.size, 3))
    ev = event.astype(np.int8)
    start = np.full(time.size, -np.inf) if entry is None else np.asarray(entry, dtype=float)
    by_start = np.argsort(start, kind="stable")
    _earlier_pass(time, ev, rank, w, k, start, by_start, counts, infl)
    _later_pass(time, ev, rank, w, k, start, by_start, infl)
    return counts, infl
