"""Aalen-Johansen cumulative incidence with delayed entry and its infinitesimal-jackknife variance.

The variance is the one R ``survfit`` reports for a multi-state (factor status) fit with one row per
subject: ``sum_i U_i(t)^2`` where ``U_i(t) = dF(t)/dw_i`` is the derivative of the cumulative
incidence with respect to subject i's case weight. Differentiating
``F(t) = sum_{s<=t} S(s-) dN_1(s) / Y(s)`` and ``S(s-) = prod_{u<s} (1 - dN(u)/Y(u))`` gives

    U_i(t) = X_i(t) - F(t) Z_i(t),
    X_i(t) = sum_{s<=t} [S(s-)/Y(s) dN_i1(s) - Y_i(s) g(s)] + sum_{u<=t} F(u) q(u) [dN_i(u) - Y_i(u) h(u)],
    Z_i(t) = sum_{u<=t} q(u) [dN_i(u) - Y_i(u) h(u)],

with g = S(s-) dN_1/Y^2, h = dN/Y, q = 1/(Y - dN) (0 when everyone at risk fails). A subject whose
interval (entry_i, T_i] ended by t contributes a constant; one still at risk contributes cumulative sums
between its entry and t. Both kinds of sums of squares are prefix sums over sorted times, so the whole
curve costs O((n + m) log n) for n subjects and m event times, with no loop over subjects.

Event codes: 0 censored, 1 cause of interest, 2 any other cause.
"""

from __future__ import annotations

import numpy as np

from cohortstat.models._kernels.km_gray import time_table


def aj_curve(time: np.ndarray, status: np.ndarray, entry: np.ndarray | None = None,
             weights: np.ndarray | None = None):
    """Grid of event times (any cause): times, (weighted) at risk, cause-1 and all events, S(t-), F(t)."""
    ut, n, d1, d2 = time_table(time, status, weights, entry)
    keep = (d1 + d2) > 0
    u, n, d1, d = ut[keep], n[keep], d1[keep], (d1 + d2)[keep]
    s_after = np.cumprod(1.0 - d / n)
    s_before = np.concatenate(([1.0], s_after[:-1]))
    F = np.cumsum(s_before * d1 / n)
    return u, n, d1, d, s_before, F


def _at(cum: np.ndarray, grid: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A cumulative grid quantity evaluated at x (its value at the last grid time <= x; 0 before)."""
    j = np.searchsorted(grid, x, side="right") - 1
    return np.where(j >= 0, cum[np.maximum(j, 0)], 0.0)


def _from_index(idx: np.ndarray, values: np.ndarray, m: int) -> np.ndarray:
    """out[j] = sum of values[i] over subjects with idx[i] <= j (idx == m: never)."""
    return np.cumsum(np.bincount(idx, weights=values, minlength=m + 1)[:m])


def aj_ij_variance(time, status, entry, u, n, d1, d, s_before, F, weights=None) -> np.ndarray:
    """Infinitesimal-jackknife variance of F at every grid time (see the module docstring).

    With case ``weights`` (``n, d1, d`` then weighted sums), ``U_i`` is the derivative per unit of
    weight and the variance ``sum_i w_i^2 U_i(t)^2``, as R ``survfit(weights=, id=)`` computes it.
    """
    m = u.size
    w2 = np.ones(time.size) if weights is None else np.asarray(weights, float) ** 2
    with np.errstate(divide="ignore"):
        q = np.where(n > d, 1.0 / np.where(n > d, n - d, 1.0), 0.0)
    hq = d / n * q
    A = np.cumsum(s_before * d1 / n**2 + F * hq)
    H = np.cumsum(hq)
    a = np.zeros(time.size) if entry is None else _at(A, u, entry)
    b = np.zeros(time.size) if entry is None else _at(H, u, entry)
    j = np.minimum(np.searchsorted(u, time, side="left"), m - 1)  # own grid index for event rows
    ev = status > 0
    X = np.where(status == 1, s_before[j] / n[j], 0.0) + np.where(ev, F[j] * q[j], 0.0) - (_at(A, u, time) - a)
    Z = np.where(ev, q[j], 0.0) - (_at(H, u, time) - b)
    fin = np.searchsorted(u, time, side="left")  # finished (T_i <= u_j) from this grid index on
    var = (_from_index(fin, w2 * X * X, m) - 2 * F * _from_index(fin, w2 * X * Z, m)
           + F * F * _from_index(fin, w2 * Z * Z, m))
    ent = np.zeros(time.size, dtype=np.int64) if entry is None else np.searchsorted(u, entry, side="right")

    def ongoing(v):  # sum over subjects with entry < u_j < T_i
        return _from_index(ent, v, m) - _from_index(fin, v, m)

    c = -A + F * H
    n_o = ongoing(w2)
    var += n_o * c * c + 2 * c * (ongoing(w2 * a) - F * ongoing(w2 * b))
    var += ongoing(w2 * a * a) - 2 * F * ongoing(w2 * a * b) + F * F * ongoing(w2 * b * b)
    return np.maximum(var, 0.0)
