"""Compiled loops of the Cox kernels: one pass over the rows per evaluation, and the weighted Gram.

The design matrix is column-major (F order: each covariate contiguous). Rows are split into a
fixed number of contiguous parts (``n_parts``, chosen from ``n`` only) that run in parallel on
threads (:func:`._jit.run_parts`; numba's ``parallel=True`` cost ~10 s of compiling per layout); each
part accumulates privately and the parts are added in a fixed order, so a result does not depend
on how many threads ran it.

Floating point: reassociation and contraction are allowed (vectorised sums, FMA), but not the
"no NaN / no Inf" assumptions - a diverging Newton step must still produce ``inf``/``nan`` so that
the step-halving rule sees it.
"""

from __future__ import annotations

from cohortstat.models._kernels._jit import numba
from cohortstat.models._kernels._jit import run_parts
import numpy as np

FASTMATH = {"reassoc", "contract", "nsz"}
_BLOCK = 256  # rows per block: a block of every column stays in the L1/L2 cache


def n_parts_for(n: int) -> int:
    """Number of row parts: one per 16k rows, at most 8 (a function of n only)."""
    return int(min(8, max(1, n // 16384)))


@numba.njit(cache=True)
def risk_totals(P, M, group_end):  # pragma: no cover - compiled
    """Risk-set sums at each death group: ``S[g] = sum_{c = g+1}^{group_end[g]} (P[c] - M[c])``.

    P (n_cut, q): sums over the rows added at cut c; M: over the rows removed at cut c (0 rows:
    none). ``group_end[g]`` is the last cut of g's stratum, where the sums restart.
    """
    G = group_end.shape[0]
    q = P.shape[1]
    has_lo = M.shape[0] > 0
    out = np.empty((G, q))
    acc = np.zeros(q)
    for g in range(G - 1, -1, -1):
        c = g + 1
        restart = c == group_end[g]
        for j in range(q):
            if restart:
                acc[j] = 0.0
            acc[j] += P[c, j]
            if has_lo:
                acc[j] -= M[c, j]
            out[g, j] = acc[j]
    return out


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


@numba.njit(cache=True)
def row_weights(wr, C, hi, lo):  # pragma: no cover - compiled
    """``v_i = wr_i (C[hi_i] - C[lo_i])``: a row's weight summed over the groups it is at risk at."""
    n = wr.shape[0]
    v = np.empty(n)
    for i in range(n):
        v[i] = wr[i] * (C[hi[i]] - C[lo[i]])
    return v


def gram_and_cut_sums(X, v, wr, cut_hi, cut_lo, n_cut, n_parts, wlo=None, n_cut_lo=None):
    """``X' diag(v) X`` (p x p) and, in the same pass, the per-cut sums of ``wr * x``.

    X is column-major (Cox) or row-major (Fine-Gray: its own compiled layout). ``cut_lo`` rows are
    summed with the weights ``wlo`` (default ``wr``) into ``n_cut_lo`` cuts (default ``n_cut``). Each part of the rows (:func:`_gram_part`) accumulates privately, on a
    thread of its own (the compiled part releases the GIL); the parts are then added in order. With
    ``cut_hi`` empty only the Gram is computed; ``cut_lo`` (delayed entry) empty means no removals.
    Returns ``gram, P1 (n_cut, p), M1 (n_cut, p)``.
    """
    n, p = X.shape
    XT = X.T  # (p, n), C order: one compiled layout whatever p (an (n, 1) array is both C and F)
    P = (p + 3) // 4 * 4
    acc = np.zeros((n_parts, P, P))
    P1 = np.zeros((n_parts, n_cut if cut_hi.shape[0] > 0 else 0, P))
    n_lo = n_cut if n_cut_lo is None else n_cut_lo
    M1 = np.zeros((n_parts, n_lo if cut_lo.shape[0] > 0 else 0, P))
    wlo = wr if wlo is None else wlo
    step = (n + n_parts - 1) // n_parts
    run_parts(_gram_part, [(XT, v, wr, wlo, cut_hi, cut_lo, t * step, min(n, (t + 1) * step), acc[t], P1[t], M1[t])
                           for t in range(n_parts)])
    return _add_parts(acc, P1, M1, p)


@numba.njit(cache=True)
def _add_parts(acc, P1, M1, p):  # pragma: no cover - compiled
    """The parts' Grams (lower triangles, symmetrised) and per-cut sums, added in part order."""
    n_parts = acc.shape[0]
    out = np.empty((p, p))
    for j in range(p):
        for k in range(j + 1):
            s = 0.0
            for t in range(n_parts):
                s += acc[t, j, k]
            out[j, k] = s
            out[k, j] = s
    return out, _sum_parts(P1, p), _sum_parts(M1, p)


@numba.njit(cache=True)
def _sum_parts(Q, p):  # pragma: no cover - compiled
    """``sum_t Q[t, :, :p]``, added in part order (explicit loops: an array expression would compile
    numba's broadcasting error path, seconds of compiling)."""
    n_parts, m, _ = Q.shape
    out = np.empty((m, p))
    for c in range(m):
        for j in range(p):
            s = Q[0, c, j]
            for t in range(1, n_parts):
                s += Q[t, c, j]
            out[c, j] = s
    return out


@numba.njit(fastmath=FASTMATH, cache=True, nogil=True)
def _gram_part(XT, v, wr, wlo, cut_hi, cut_lo, a, b, A, P1, M1):  # pragma: no cover - compiled
    """Rows a..b-1: add their Gram to A (lower triangle), ``wr * x`` to their ``cut_hi`` rows of P1
    and ``wlo * x`` to their ``cut_lo`` rows of M1.

    Blocks of rows are copied into small buffers (the block and the block scaled by v, both
    column-major, and the block scaled by wr, row-major); the lower triangle is accumulated in
    2 x 4 tiles of dot products over the block (8 sums in registers, vectorised over rows).
    """
    p = XT.shape[0]
    P = A.shape[0]
    S = np.zeros((P, _BLOCK))
    T = np.zeros((P, _BLOCK))
    R = np.zeros((_BLOCK, P))
    has_lo = cut_lo.shape[0] > 0
    R2 = np.zeros((_BLOCK if has_lo else 0, P))
    for s in range(a, b, _BLOCK):
        m = min(_BLOCK, b - s)
        for j in range(p):
            for r in range(m):
                x = XT[j, s + r]
                T[j, r] = x
                S[j, r] = v[s + r] * x
                R[r, j] = wr[s + r] * x  # unused without cuts (the PH test's blocks)
                if has_lo:
                    R2[r, j] = wlo[s + r] * x
            for r in range(m, _BLOCK):
                T[j, r] = 0.0
                S[j, r] = 0.0
        if cut_hi.shape[0] > 0:
            _add_rows(P1, R, cut_hi, s, m)
        if has_lo:
            _add_rows(M1, R2, cut_lo, s, m)
        for J in range(0, P, 2):
            for K in range(0, J + 2, 4):
                a00 = a01 = a02 = a03 = 0.0
                a10 = a11 = a12 = a13 = 0.0
                for r in range(_BLOCK):
                    s0 = S[J, r]
                    s1 = S[J + 1, r]
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
                A[J, K] += a00
                A[J, K + 1] += a01
                A[J, K + 2] += a02
                A[J, K + 3] += a03
                A[J + 1, K] += a10
                A[J + 1, K + 1] += a11
                A[J + 1, K + 2] += a12
                A[J + 1, K + 3] += a13


@numba.njit(fastmath=FASTMATH, cache=True, nogil=True)
def _add_rows(Pt, R, cut, s, m):  # pragma: no cover - compiled
    """Add row r of the block buffer R to row ``cut[s + r]`` of Pt (r < m)."""
    q = R.shape[1]
    for r in range(m):
        c = cut[s + r]
        for j in range(q):
            Pt[c, j] += R[r, j]
