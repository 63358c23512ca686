"""Compiled loops of the Cox kernels: one pass over the rows per evaluation, and the weighted Gram.

The design matrix is column-major (F order: each covariate contiguous). Rows are split into a
fixed number of contiguous parts (``n_parts``, chosen from ``n`` only) that run in parallel; each
part accumulates privately and the parts are added in a fixed order, so a result does not depend
on how many threads ran it.

Floating point: reassociation and contraction are allowed (vectorised sums, FMA), but not the
"no NaN / no Inf" assumptions - a diverging Newton step must still produce ``inf``/``nan`` so that
the step-halving rule sees it.
"""

from __future__ import annotations

from functools import cache

import numba
import numpy as np
from threadpoolctl import ThreadpoolController

FASTMATH = {"reassoc", "contract", "nsz"}
_BLOCK = 256  # rows per block: a block of every column stays in the L1/L2 cache


@cache
def blas_controller() -> ThreadpoolController:
    """The BLAS thread pools of this process, found once (``.limit()`` then costs microseconds)."""
    return ThreadpoolController()


def n_parts_for(n: int) -> int:
    """Number of row parts: one per 64k rows, at most 8 (a function of n only)."""
    return int(min(8, max(1, n // 65536)))


@numba.njit(parallel=True, fastmath=FASTMATH, cache=True)
def cut_sums(X, wr, cut, n_cut, n_parts):  # pragma: no cover - compiled
    """Sums of ``wr`` and ``wr * x`` over the rows of each cut: ``(n_cut,)`` and ``(n_cut, p)``.

    ``cut[i]`` is the cut row i is added (or removed) at; the last cut is a discard slot.
    """
    n, p = X.shape
    P0 = np.zeros((n_parts, n_cut))
    P1 = np.zeros((n_parts, n_cut, p))
    step = (n + n_parts - 1) // n_parts
    for t in numba.prange(n_parts):
        a = t * step
        b = min(n, a + step)
        for i in range(a, b):
            c = cut[i]
            r = wr[i]
            P0[t, c] += r
            for j in range(p):
                P1[t, c, j] += r * X[i, j]
    for t in range(1, n_parts):
        P0[0] += P0[t]
        P1[0] += P1[t]
    return P0[0], P1[0]


@numba.njit(cache=True)
def risk_totals(P0, P1, M0, M1, group_end):  # pragma: no cover - compiled
    """Risk-set sums at each death group: ``S[g] = sum_{c = g+1}^{group_end[g]} (P[c] - M[c])``.

    P: sums over the rows added at cut c, M: over the rows removed at cut c (empty: none);
    ``group_end[g]`` is the last cut of g's stratum, where the sums restart.
    """
    G = group_end.shape[0]
    p = P1.shape[1]
    has_lo = M0.shape[0] > 0
    S0 = np.empty(G)
    S1 = np.empty((G, p))
    acc0 = 0.0
    acc1 = np.zeros(p)
    for g in range(G - 1, -1, -1):
        c = g + 1
        if c == group_end[g]:
            acc0 = 0.0
            acc1[:] = 0.0
        acc0 += P0[c]
        if has_lo:
            acc0 -= M0[c]
        for j in range(p):
            acc1[j] += P1[c, j]
            if has_lo:
                acc1[j] -= M1[c, j]
        S0[g] = acc0
        S1[g, :] = acc1
    return S0, S1


@numba.njit(cache=True)
def group_rows_sum(Xd, wd, group, G):  # pragma: no cover - compiled
    """(G,) and (G, p) sums of ``wd`` and ``wd * Xd`` by group (Xd: rows of the deaths)."""
    D, p = Xd.shape
    s0 = np.zeros(G)
    s1 = np.zeros((G, p))
    for m in range(D):
        g = group[m]
        s0[g] += wd[m]
        for j in range(p):
            s1[g, j] += wd[m] * Xd[m, j]
    return s0, s1


@numba.njit(parallel=True, fastmath=FASTMATH, cache=True)
def row_weights(wr, C, hi, lo, n_parts):  # pragma: no cover - compiled
    """``v_i = wr_i (C[hi_i] - C[lo_i])``: a row's weight summed over the groups it is at risk at."""
    n = wr.shape[0]
    v = np.empty(n)
    step = (n + n_parts - 1) // n_parts
    for t in numba.prange(n_parts):
        for i in range(t * step, min(n, (t + 1) * step)):
            v[i] = wr[i] * (C[hi[i]] - C[lo[i]])
    return v


@numba.njit(parallel=True, fastmath=FASTMATH, cache=True)
def weighted_gram(X, v, n_parts):  # pragma: no cover - compiled
    """``X' diag(v) X`` (p x p, symmetric) for a column-major X.

    Blocks of rows are copied into two small buffers (the block and the block scaled by v) and
    the lower triangle is accumulated in 4 x 4 tiles of dot products over the block, which keeps
    16 sums in registers per pass over the buffers.
    """
    n, p = X.shape
    P = (p + 3) // 4 * 4
    acc = np.zeros((n_parts, P, P))
    step = (n + n_parts - 1) // n_parts
    for t in numba.prange(n_parts):
        a = t * step
        b = min(n, a + step)
        A = np.zeros((P, P))
        S = np.zeros((P, _BLOCK))
        T = np.zeros((P, _BLOCK))
        for s in range(a, b, _BLOCK):
            m = min(_BLOCK, b - s)
            for j in range(p):
                for r in range(m):
                    x = X[s + r, j]
                    T[j, r] = x
                    S[j, r] = v[s + r] * x
                for r in range(m, _BLOCK):
                    T[j, r] = 0.0
                    S[j, r] = 0.0
            for J in range(0, P, 4):
                for K in range(0, J + 1, 4):
                    a00 = a01 = a02 = a03 = 0.0
                    a10 = a11 = a12 = a13 = 0.0
                    a20 = a21 = a22 = a23 = 0.0
                    a30 = a31 = a32 = a33 = 0.0
                    for r in range(_BLOCK):
                        s0 = S[J, r]
                        s1 = S[J + 1, r]
                        s2 = S[J + 2, r]
                        s3 = S[J + 3, r]
                        t0 = T[K, r]
                        t1 = T[K + 1, r]
                        t2 = T[K + 2, r]
                        t3 = T[K + 3, r]
                        a00 += s0 * t0
                        a01 += s0 * t1
                        a02 += s0 * t2
                        a03 += s0 * t3
                        a10 += s1 * t0
                        a11 += s1 * t1
                        a12 += s1 * t2
                        a13 += s1 * t3
                        a20 += s2 * t0
                        a21 += s2 * t1
                        a22 += s2 * t2
                        a23 += s2 * t3
                        a30 += s3 * t0
                        a31 += s3 * t1
                        a32 += s3 * t2
                        a33 += s3 * t3
                    A[J, K] += a00
                    A[J, K + 1] += a01
                    A[J, K + 2] += a02
                    A[J, K + 3] += a03
                    A[J + 1, K] += a10
                    A[J + 1, K + 1] += a11
                    A[J + 1, K + 2] += a12
                    A[J + 1, K + 3] += a13
                    A[J + 2, K] += a20
                    A[J + 2, K + 1] += a21
                    A[J + 2, K + 2] += a22
                    A[J + 2, K + 3] += a23
                    A[J + 3, K] += a30
                    A[J + 3, K + 1] += a31
                    A[J + 3, K + 2] += a32
                    A[J + 3, K + 3] += a33
        acc[t] = A
    out = np.empty((p, p))
    for j in range(p):
        for k in range(j + 1):
            s = 0.0
            for t in range(n_parts):
                s += acc[t, j, k]
            out[j, k] = s
            out[k, j] = s
    return out


@numba.njit(parallel=True, cache=True)
def center_columns(X, w):  # pragma: no cover - compiled
    """Centre each column of X in place by its w-weighted mean; return the means and max |x|."""
    n, p = X.shape
    wsum = 0.0
    for i in range(n):
        wsum += w[i]
    mean = np.empty(p)
    amax = np.empty(p)
    for j in numba.prange(p):
        s = 0.0
        m = 0.0
        for i in range(n):
            x = X[i, j]
            s += w[i] * x
            if abs(x) > m:
                m = abs(x)
        mu = s / wsum
        for i in range(n):
            X[i, j] -= mu
        mean[j] = mu
        amax[j] = m
    return mean, amax
