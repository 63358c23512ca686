"""Array kernel of the G-rho family of K-sample tests (log-rank rho = 0, Peto-Peto rho = 1), R ``survdiff``.

For one stratum, at every distinct event time t with n_k at risk and d_k events in group k
(n = sum n_k, d = sum d_k) and weight w = S(t-)^rho, S the pooled Kaplan-Meier of the stratum:

    O_k = sum w d_k,    E_k = sum w d n_k / n,
    V_kl = sum w^2 d (n - d) / (n (n - 1)) (n_k [k = l] - n_k n_l / n)     (0 when n = 1),

as ``survival``'s ``survdiff2.c``. With ``entry`` the risk set is {entry < t <= time}.
Vectorised over event times; the only loop runs over the K groups.
"""

from __future__ import annotations

import numpy as np


def _at_risk(time, group, ng, ut, entry):
    """n[t, k]: number of group-k rows at risk at each event time ut."""
    n = np.empty((ut.size, ng))
    for k in range(ng):
        m = group == k
        tk = np.sort(time[m])
        nk = tk.size - np.searchsorted(tk, ut, side="left")
        if entry is not None:
            ek = np.sort(entry[m])
            nk = nk - (ek.size - np.searchsorted(ek, ut, side="left"))
        n[:, k] = nk
    return n


def grho_stratum(time, event01, group, ng, rho, entry=None):
    """Observed, expected (length ng) and variance (ng x ng) of one stratum."""
    ev = event01 > 0
    ut = np.unique(time[ev])
    if ut.size == 0:
        return np.zeros(ng), np.zeros(ng), np.zeros((ng, ng))
    ti = np.searchsorted(ut, time[ev])
    d = np.bincount(ti * ng + group[ev], minlength=ut.size * ng).reshape(ut.size, ng).astype(float)
    n = _at_risk(time, group, ng, ut, entry)
    N = n.sum(axis=1)
    D = d.sum(axis=1)
    if rho == 0:
        w = np.ones(ut.size)
    else:
        s_before = np.concatenate(([1.0], np.cumprod(1.0 - D / N)[:-1]))
        w = s_before**rho
    observed = w @ d
    expected = (w * D / N) @ n
    with np.errstate(divide="ignore", invalid="ignore"):
        kt = np.where(N > 1, w * w * D * (N - D) / (N * (N - 1.0)), 0.0)
    var = np.diag(kt @ n) - (n * (kt / N)[:, None]).T @ n
    return observed, expected, var
