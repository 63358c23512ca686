"""Compiled single-pass loops for the Fine-Gray kernels (no n x p temporaries).

Explicit element loops only: an array expression (``out[k, :] = acc``) makes numba compile its
broadcasting error path, seconds of compiling on first use for nothing.
"""

from __future__ import annotations

from cohortstat.models._kernels._jit import numba
import numpy as np


@numba.njit(cache=True)
def prefix_rows_at(X, idx, w, counts):  # pragma: no cover - compiled
    """out[k] = sum_{m < counts[k]} w[m] X[idx[m]] (counts non-decreasing)."""
    p = X.shape[1]
    K = counts.size
    out = np.zeros((K, p))
    acc = np.zeros(p)
    m = 0
    for k in range(K):
        while m < counts[k]:
            row = idx[m]
            for j in range(p):
                acc[j] += w[m] * X[row, j]
            m += 1
        for j in range(p):
            out[k, j] = acc[j]
    return out


@numba.njit(cache=True)
def eta_residuals(X, r, kt, cumA, cumB, fail_idx, fail_k, E, wfail):  # pragma: no cover - compiled
    """res_i = -r_i (X_i A[kt_i] - B[kt_i]); failures add w_i (X_i - E(T_i))."""
    n, p = X.shape
    res = np.empty((p, n)).T  # column-major, as X: both read and written column by column
    for j in range(p):
        for i in range(n):
            ri = r[i]
            k = kt[i]
            a = ri * cumA[k]
            res[i, j] = -(X[i, j] * a - cumB[k, j] * ri)
    for m in range(fail_idx.size):
        i = fail_idx[m]
        k = fail_k[m]
        for j in range(p):
            res[i, j] += wfail[m] * (X[i, j] - E[k, j])
    return res


@numba.njit(cache=True)
def comp_residuals(res, X, ci, f, a_after, b_after):  # pragma: no cover - compiled
    """res[ci] -= f (X a_after - b_after) for competing failures (in place)."""
    p = X.shape[1]
    for m in range(ci.size):
        i = ci[m]
        for j in range(p):
            res[i, j] -= f[m] * (X[i, j] * a_after[m] - b_after[m, j])


@numba.njit(cache=True)
def add_gathered(res, rows, table, idx, sign):  # pragma: no cover - compiled
    """res[rows[m]] += sign * table[idx[m]] (in place)."""
    p = res.shape[1]
    for m in range(rows.size):
        i = rows[m]
        k = idx[m]
        for j in range(p):
            res[i, j] += sign * table[k, j]
