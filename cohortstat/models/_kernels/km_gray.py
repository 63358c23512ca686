"""Array kernels for the non-parametric estimators: Kaplan-Meier, Aalen-Johansen cumulative incidence
with the variance reported by ``cmprsk::cuminc``, and Gray's (1988) K-sample test.

Inputs are sorted by time. Event codes: 0 censored, 1 cause of interest, 2 any other cause.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from cohortstat.models._kernels._jit import numba


def time_table(time: np.ndarray, status: np.ndarray, weights: np.ndarray | None = None,
               entry: np.ndarray | None = None):
    """Distinct exit times with (weighted) number at risk, events of cause 1, events of other causes.

    With ``entry`` the risk set at t is {entry < t <= time} (counting-process data, as R ``survfit``
    on ``Surv(entry, time, event)``); rows are the distinct exit times only.
    """
    ut, inv = np.unique(time, return_inverse=True)
    w = np.ones(time.size) if weights is None else weights
    tot = np.bincount(inv, weights=w, minlength=ut.size)
    n_risk = np.cumsum(tot[::-1])[::-1]
    if entry is not None:  # minus those entering at or after t: sum w[entry >= t]
        order = np.argsort(entry, kind="stable")
        cw = np.concatenate(([0.0], np.cumsum(w[order])))
        n_risk = n_risk - (cw[-1] - cw[np.searchsorted(entry[order], ut, side="left")])
    d1 = np.bincount(inv, weights=w * (status == 1), minlength=ut.size)
    d2 = np.bincount(inv, weights=w * (status == 2), minlength=ut.size)
    return ut, n_risk, d1, d2


def kaplan_meier_table(time, event01, weights=None, entry=None):
    """KM estimate and Greenwood sum at every distinct exit time (survfit conventions)."""
    ut, n, d, _ = time_table(time, event01, weights, entry)
    surv = np.cumprod(1.0 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        gw = np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0))
    return ut, n, d, surv, gw


def confint(p: np.ndarray, se: np.ndarray, conf_type: str, level: float, logse: bool):
    """Pointwise confidence limits of a probability as R ``survival:::survfit_confint``.

    ``se`` is the standard error of log p when ``logse`` (Kaplan-Meier), of p otherwise (cumulative
    incidence). Limits are NaN where R gives NA (p = 0 for "log"; p in {0, 1} for "log-log").
    """
    z = stats.norm.ppf(1.0 - (1.0 - level) / 2.0)
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if not logse:
            se = np.where(se == 0, 0.0, se / p)
        if conf_type == "plain":
            half = z * se * p
            return np.maximum(p - half, 0.0), np.minimum(p + half, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            return np.exp(np.log(xx) - z * se), np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        if conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            half = z * se / np.log(xx)
            ll = np.log(-np.log(xx))
            return np.exp(-np.exp(ll - half)), np.exp(-np.exp(ll + half))
    raise ValueError(conf_type)


def cuminc_table(time, status):
    """Aalen-Johansen CIF of cause 1 and its variance as ``cmprsk::cuminc`` (Gray's delta method).

    Returns rows at the distinct times where cause 1 occurs.
    """
    ut, n, d1, d2 = time_table(time, status)
    keep = (d1 + d2) > 0
    ut, n, d1, d2 = ut[keep], n[keep], d1[keep], d2[keep]
    d = d1 + d2
    s_after = np.cumprod((n - d) / n)
    s_before = np.concatenate(([1.0], s_after[:-1]))
    F = np.cumsum(s_before * d1 / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_s = np.where(s_after > 0, 1.0 / s_after, 0.0)
        tie1 = np.where(d1 > 1, 1.0 - (d1 - 1.0) / (n - 1.0), 1.0)
        tie2 = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (n - 1.0), 1.0)
    base = s_before**2 / n**2
    # other-cause failures (skipped where no one survives the time)
    w2 = np.where((d2 > 0) & (s_after > 0), tie2 * d2 * base, 0.0)
    a2 = F * inv_s
    # cause-1 failures
    w1 = np.where(d1 > 0, tie1 * d1 * base, 0.0)
    a1 = 1.0 + inv_s * F
    v1 = np.cumsum(a2 * a2 * w2 + a1 * a1 * w1)
    v2 = np.cumsum(inv_s * a2 * w2 + inv_s * a1 * w1)
    v3 = np.cumsum(inv_s * inv_s * w2 + inv_s * inv_s * w1)
    var = v1 + F * F * v3 - 2 * F * v2
    m = d1 > 0
    return ut[m], n[m], d1[m], F[m], var[m]


@numba.njit(cache=True)
def gray_stratum(time, status, group, ng, rho):  # pragma: no cover - compiled
    """Score vector (ng-1) and its covariance for one stratum, Gray (1988) as in cmprsk's crstm.

    Element loops only (no array expressions: those compile numba's broadcasting error path,
    seconds on first use)."""
    n = time.size
    ng1 = ng - 1
    at_risk = np.zeros(ng)
    for i in range(n):
        at_risk[group[i]] += 1.0
    f_prev = np.zeros(ng)
    f_now = np.zeros(ng)
    s_prev = np.ones(ng)
    s_now = np.ones(ng)
    c = np.zeros((ng, ng))
    a = np.zeros((ng, ng))
    v3 = np.zeros(ng)
    v2 = np.zeros((ng1, ng))
    score = np.zeros(ng1)
    var = np.zeros((ng1, ng1))
    d = np.zeros((3, ng))
    fpool_prev = 0.0
    fpool = 0.0
    lo = 0
    while lo < n:
        hi = lo
        while hi + 1 < n and time[hi + 1] <= time[lo]:
            hi += 1
        for k in range(ng):
            d[0, k] = 0.0
            d[1, k] = 0.0
            d[2, k] = 0.0
        for i in range(lo, hi + 1):
            d[status[i], group[i]] += 1.0
        nd1 = 0.0
        nd2 = 0.0
        for k in range(ng):
            nd1 += d[1, k]
            nd2 += d[2, k]
        if nd1 > 0 or nd2 > 0:
            tr = 0.0
            tq = 0.0
            for k in range(ng):
                if at_risk[k] > 0:
                    s_now[k] = s_prev[k] * (at_risk[k] - d[1, k] - d[2, k]) / at_risk[k]
                    f_now[k] = f_prev[k] + s_prev[k] * d[1, k] / at_risk[k]
                    tr += at_risk[k] / s_prev[k]
                    tq += at_risk[k] * (1.0 - f_prev[k]) / s_prev[k]
            fpool = fpool_prev + nd1 / tr
            fb = (1.0 - fpool_prev) ** rho
            for i in range(ng):
                for j in range(ng):
                    a[i, j] = 0.0
            for i in range(ng):
                if at_risk[i] <= 0:
                    continue
                t1 = at_risk[i] / s_prev[i]
                a[i, i] = fb * t1 * (1.0 - t1 / tr)
                for j in range(i + 1, ng):
                    if at_risk[j] > 0:
                        a[i, j] = -fb * t1 * at_risk[j] / (s_prev[j] * tr)
                        a[j, i] = a[i, j]
            if nd1 > 0:
                cf = nd1 / (tr * (1.0 - fpool_prev))
                for i in range(ng):
                    for j in range(ng):
                        c[i, j] += a[i, j] * cf
            for i in range(ng1):
                if at_risk[i] > 0:
                    score[i] += fb * (d[1, i] - nd1 * at_risk[i] * (1.0 - f_prev[i]) / (s_prev[i] * tq))
            if nd1 > 0:
                for k in range(ng):
                    if at_risk[k] <= 0:
                        continue
                    t4 = 1.0 - (1.0 - fpool) / s_now[k] if s_now[k] > 0 else 1.0
                    t5 = 1.0 - (nd1 - 1.0) / (tr * s_prev[k] - 1.0) if nd1 > 1 else 1.0
                    t3 = t5 * s_prev[k] * nd1 / (tr * at_risk[k])
                    v3[k] += t4 * t4 * t3
                    for i in range(ng1):
                        e_i = a[i, k] - t4 * c[i, k]
                        v2[i, k] += e_i * t4 * t3
                        for j in range(i + 1):
                            var[i, j] += e_i * (a[j, k] - t4 * c[j, k]) * t3
            if nd2 > 0:
                for k in range(ng):
                    if s_now[k] <= 0 or d[2, k] <= 0:
                        continue
                    t4 = (1.0 - fpool) / s_now[k]
                    t5 = 1.0 - (d[2, k] - 1.0) / (at_risk[k] - 1.0) if d[2, k] > 1 else 1.0
                    t3 = t5 * s_prev[k] ** 2 * d[2, k] / at_risk[k] ** 2
                    v3[k] += t4 * t4 * t3
                    for i in range(ng1):
                        e_i = t4 * c[i, k]
                        v2[i, k] -= e_i * t4 * t3
                        for j in range(i + 1):
                            var[i, j] += e_i * t4 * c[j, k] * t3
        for i in range(lo, hi + 1):
            at_risk[group[i]] -= 1.0
        fpool_prev = fpool
        for k in range(ng):
            f_prev[k] = f_now[k]
            s_prev[k] = s_now[k]
        lo = hi + 1
    for i in range(ng1):
        for j in range(i + 1):
            for k in range(ng):
                var[i, j] += c[i, k] * c[j, k] * v3[k] + c[i, k] * v2[j, k] + c[j, k] * v2[i, k]
            var[j, i] = var[i, j]
    return score, var
