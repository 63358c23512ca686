"""Compiled single-pass loops for the Fine-Gray kernels (no n x p temporaries).

The design and the residuals are passed transposed (``X.T``, (p, n)): C order for a column-major
design whatever p, so each kernel is compiled for one layout. Explicit element loops only: an array expression (``out[k, :] = acc``) makes numba compile its
broadcasting error path, seconds of compiling on first use for nothing.
"""

from __future__ import annotations

from cohortstat.models._kernels._jit import numba
import numpy as np


@numba.njit(cache=True)
def prefix_rows_at(XT, idx, w, counts):  # pragma: no cover - compiled
    """out[k] = sum_{m < counts[k]} w[m] X[idx[m]] (counts non-decreasing); ``XT = X.T``."""
    p = XT.shape[0]
    K = counts.size
    out = np.zeros((K, p))
    acc = np.zeros(p)
    m = 0
    for k in range(K):
        while m < counts[k]:
            row = idx[m]
            for j in range(p):
                acc[j] += w[m] * XT[j, row]
            m += 1
        for j in range(p):
            out[k, j] = acc[j]
    return out


@numba.njit(cache=True)
def eta_residuals(XT, r, kt, cumA, cumB, fail_idx, fail_k, E, wfail):  # pragma: no cover - compiled
    """res_i = -r_i (X_i A[kt_i] - B[kt_i]); failures add w_i (X_i - E(T_i)). Returns ``res.T`` (p, n)."""
    p, n = XT.shape
    resT = np.empty((p, n))
    for j in range(p):
        for i in range(n):
            ri = r[i]
            k = kt[i]
            a = ri * cumA[k]
            resT[j, i] = -(XT[j, i] * a - cumB[k, j] * ri)
    for m in range(fail_idx.size):
        i = fail_idx[m]
        k = fail_k[m]
        for j in range(p):
            resT[j, i] += wfail[m] * (XT[j, i] - E[k, j])
    return resT


@numba.njit(cache=True)
def comp_residuals(resT, XT, ci, f, a_after, b_after):  # pragma: no cover - compiled
    """res[ci] -= f (X a_after - b_after) for competing failures (in place; transposed arrays)."""
    p = XT.shape[0]
    for m in range(ci.size):
        i = ci[m]
        for j in range(p):
            resT[j, i] -= f[m] * (XT[j, i] * a_after[m] - b_after[m, j])


@numba.njit(cache=True)
def add_gathered(resT, rows, table, idx, sign):  # pragma: no cover - compiled
    """res[rows[m]] += sign * table[idx[m]] (in place; ``resT = res.T``)."""
    p = resT.shape[0]
    for m in range(rows.size):
        i = rows[m]
        k = idx[m]
        for j in range(p):
            resT[j, i] += sign * table[k, j]
