"""Fine-Gray with time-varying coefficients (crr's ``cov2`` and ``tf``): covariates x2 enter as
x2 * tf(t), so the design of subject i at failure time t_k is Z_ik = [x1_i, x2_i * tf(t_k)].

The risk-set sums are no longer cumulative sums of fixed rows: they are computed on the (n, K, p)
tensor of Z (K failure times), which costs O(n K p^2) time and O(n K p) memory (fits of moderate
size; the estimator refuses tensors above ``MAX_CELLS``). The weights w_i(t_k) are crr's: 1 while
at risk, G(t_k-)/G(T_i-) after a competing failure. Score residuals and crr's censoring term are the
time-fixed formulas with Z_i replaced by Z_ik inside each integral.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fg_kernel import FGEval, FGSetup, add_censoring_term

MAX_CELLS = 50_000_000


@dataclass(frozen=True)
class TVSetup:
    """A time-fixed setup plus the (n, K, p) design tensor and the (n, K) at-risk weights."""

    base: FGSetup
    Z: np.ndarray  # (n, K, p)
    W: np.ndarray  # (n, K)


def tv_setup(s: FGSetup, X1: np.ndarray, X2: np.ndarray, TF: np.ndarray) -> TVSetup:
    """``X1`` (n, p1) fixed covariates, ``X2`` (n, p2) multiplied by ``TF`` (K, p2) = tf(uft)."""
    n, K = s.time.size, s.uft.size
    Z = np.concatenate((np.broadcast_to(X1[:, None, :], (n, K, X1.shape[1])),
                        X2[:, None, :] * TF[None, :, :]), axis=2)
    W = (s.time[:, None] >= s.uft[None, :]).astype(float)
    for g in range(s.ncg):
        ci = s.comp[g]
        after = s.time[ci][:, None] < s.uft[None, :]
        W[ci] = np.where(after, s.Gk[g][None, :] / s.Gi[ci][:, None], W[ci])
    return TVSetup(s, np.ascontiguousarray(Z), W)


def tv_eval(t: TVSetup, beta: np.ndarray, derivs: bool = True) -> FGEval:
    """Log partial likelihood, score and information; ``E`` is (K, p) and ``r`` is (n, K)."""
    s = t.base
    eta = t.Z @ beta  # (n, K)
    r = np.exp(eta)
    WR = t.W * r
    S0 = WR.sum(axis=0)
    fe = eta[s.fail_idx, s.fail_k]
    loglik = float(fe.sum() - s.d @ np.log(S0))
    if not derivs:
        return FGEval(loglik, np.empty(0), None, S0, None, r)
    S1 = np.einsum("ik,ikp->kp", WR, t.Z)
    E = S1 / S0[:, None]
    score = t.Z[s.fail_idx, s.fail_k].sum(axis=0) - s.d @ E
    c = WR * (s.d / S0)[None, :]
    info = np.einsum("ik,ikp,ikq->pq", c, t.Z, t.Z) - (E * s.d[:, None]).T @ E
    return FGEval(loglik, score, info, S0, E, r)


def tv_score_residuals(t: TVSetup, ev: FGEval) -> np.ndarray:
    """eta_i = sum_k dN_ik (Z_ik - E_k) - sum_k w_ik r_ik (d_k / S0_k) (Z_ik - E_k)."""
    s = t.base
    dev = t.Z - ev.E[None, :, :]
    c = t.W * ev.r * (s.d / ev.S0)[None, :]
    res = -np.einsum("ik,ikp->ip", c, dev)
    np.add.at(res, s.fail_idx, dev[s.fail_idx, s.fail_k])
    return res


def tv_crr_variance_meat(t: TVSetup, ev: FGEval) -> np.ndarray:
    """crr's Fine & Gray sandwich meat with time-varying Z (no case weights)."""
    s = t.base
    p = t.Z.shape[2]
    res = tv_score_residuals(t, ev)
    cens = np.flatnonzero(s.status == 0)
    if cens.size:
        uc = np.unique(s.time[cens])
        ku = np.searchsorted(s.uft, uc, side="left")  # failure times >= u start here
        qg = np.zeros((s.ncg, uc.size, p))
        for g in range(s.ncg):
            ci = s.comp[g]
            if ci.size == 0:
                continue
            a = s.Gk[g] * s.dg[g] / ev.S0  # (K,)
            D = (ev.r[ci] / s.Gi[ci][:, None])[:, :, None] * (t.Z[ci] - ev.E[None, :, :]) * a[None, :, None]
            P = np.concatenate((np.flip(np.cumsum(np.flip(D, 1), 1), 1), np.zeros((ci.size, 1, p))), axis=1)
            Pc = np.concatenate((np.zeros((1, s.uft.size + 1, p)), np.cumsum(P, axis=0)), axis=0)
            nc = np.searchsorted(s.time[ci], uc, side="left")  # competing failures before u
            qg[g] = Pc[nc, ku]
        add_censoring_term(s, res, qg, uc)
    return res.T @ res
