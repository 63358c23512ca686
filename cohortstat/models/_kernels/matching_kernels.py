"""Compiled kernels of nearest-neighbour propensity-score matching (see :mod:`cohortstat.models.matching`).

Controls of each stratum are sorted by score; ``_find`` is a disjoint-set root with path halving
over the sorted controls, so a used control is skipped in amortised constant time. ``_greedy_kernel``
visits treated rows in the canonical order; ``_closest_kernel`` takes the globally closest pair first.
"""

from __future__ import annotations

import heapq

import numpy as np

from cohortstat.models._kernels._jit import numba


@numba.njit(cache=True)
def _find(parent, i):
    # disjoint-set root with path halving
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@numba.njit(cache=True)
def _kernel_state(c_score, s_start, s_end, t_stratum, t_score):
    """Starting state shared by the matching kernels.

    ``owner`` (per control, -1 = free), ``count`` (controls per treated row), the two "next available"
    link arrays -- ``right[i]``: next available control index >= i (n_c = none); ``left[i + 1]``: previous
    available control index <= i, stored shifted by one (0 = none) -- and ``ins``, each treated row's
    insertion point among the sorted controls of its stratum.
    """
    n_c = c_score.size
    n_t = t_score.size
    owner = np.full(n_c, -1, np.int64)
    count = np.zeros(n_t, np.int64)
    right = np.arange(n_c + 1)
    left = np.arange(n_c + 1)
    ins = np.empty(n_t, np.int64)
    for i in range(n_t):
        s = t_stratum[i]
        lo = s_start[s]
        hi = s_end[s]
        ins[i] = lo + np.searchsorted(c_score[lo:hi], t_score[i])
    return owner, count, right, left, ins


@numba.njit(cache=True)
def _greedy_kernel(c_score, s_start, s_end, t_stratum, t_score, ratio, caliper):
    """Greedy nearest-available matching.

    Controls are sorted by (stratum, score); control stratum ``s`` occupies ``[s_start[s], s_end[s])``.
    Treated rows are given in visiting order. Returns, per control (sorted order), the index of its
    treated row in visiting order or -1, and per treated row the number of controls it received.
    """
    n_t = t_score.size
    owner, count, right, left, ins = _kernel_state(c_score, s_start, s_end, t_stratum, t_score)
    for r in range(ratio):
        for i in range(n_t):
            if count[i] < r:
                continue
            s = t_stratum[i]
            lo = s_start[s]
            hi = s_end[s]
            if lo >= hi:
                continue
            p = ins[i]
            best = -1
            best_d = np.inf
            jl = _find(left, p) - 1  # left array is shifted: index p holds control p - 1
            if jl >= lo:
                best = jl
                best_d = t_score[i] - c_score[jl]
            jr = _find(right, p)
            if jr < hi:
                d = c_score[jr] - t_score[i]
                if d < best_d:
                    best = jr
                    best_d = d
            if best < 0 or best_d > caliper:
                continue
            owner[best] = i
            count[i] += 1
            right[best] = best + 1
            left[best + 1] = best
    return owner, count


@numba.njit(cache=True)
def _nearest(left, right, c_score, lo, hi, p, x):
    """Nearest available control of ``[lo, hi)`` around insertion point ``p`` for score ``x``:
    (index or -1, distance); the lower control wins a tie."""
    best = -1
    best_d = np.inf
    if lo >= hi:
        return best, best_d
    jl = _find(left, p) - 1  # left is shifted: index p holds control p - 1
    if jl >= lo:
        best = jl
        best_d = x - c_score[jl]
    jr = _find(right, p)
    if jr < hi:
        d = c_score[jr] - x
        if d < best_d:
            best = jr
            best_d = d
    return best, best_d


@numba.njit(cache=True)
def _closest_kernel(c_score, s_start, s_end, t_stratum, t_score, ratio, caliper):
    """Closest-pair-first greedy matching (the order of OHDSI CohortMethod).

    In each of ``ratio`` passes, every treated row still in need proposes its nearest available control;
    proposals are taken from a heap by (distance, treated position, control position); a proposal whose
    control was taken meanwhile is renewed with the treated row's next nearest available control. Same
    inputs and outputs as :func:`_greedy_kernel` (the treated position is the tie-breaking rank).
    """
    n_t = t_score.size
    owner, count, right, left, ins = _kernel_state(c_score, s_start, s_end, t_stratum, t_score)
    for r in range(ratio):
        heap = [(0.0, np.int64(0), np.int64(0))]
        heap.pop()
        for i in range(n_t):
            if count[i] < r:
                continue
            s = t_stratum[i]
            j, d = _nearest(left, right, c_score, s_start[s], s_end[s], ins[i], t_score[i])
            if j >= 0 and d <= caliper:
                heap.append((d, np.int64(i), np.int64(j)))
        heapq.heapify(heap)
        while len(heap) > 0:
            d, i, j = heapq.heappop(heap)
            if owner[j] < 0:
                owner[j] = i
                count[i] += 1
                right[j] = j + 1
                left[j + 1] = j
            else:
                s = t_stratum[i]
                j2, d2 = _nearest(left, right, c_score, s_start[s], s_end[s], ins[i], t_score[i])
                if j2 >= 0 and d2 <= caliper:
                    heapq.heappush(heap, (d2, i, j2))
    return owner, count
