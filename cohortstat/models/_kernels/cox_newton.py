"""Newton-Raphson for the Cox partial likelihood with R ``coxph``'s iteration rules.

Follows the iteration of R survival's ``coxph.fit`` (Therneau 2024): start at ``init`` (0),
take full Newton steps; a step that lowers the log-likelihood (or gives a non-finite one) is
halved towards the previous estimate; convergence when ``|1 - loglik_old / loglik_new| <= eps``
on a step that was not a halving, at most ``iter_max`` evaluations after the initial one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cox_kernel import KernelState, RiskSets, evaluate


@dataclass(frozen=True)
class NewtonResult:
    beta: np.ndarray
    state: KernelState  # at beta (score, information)
    loglik_init: float
    score_init: np.ndarray
    info_init: np.ndarray
    iterations: int
    converged: bool


def _solve(info, u):
    try:
        c = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(info, u, rcond=None)[0]
    y = np.linalg.solve(c, u)
    return np.linalg.solve(c.T, y)


def newton(rs: RiskSets, X, w, init, iter_max=20, eps=1e-9, state0: KernelState | None = None) -> NewtonResult:
    """Maximise the log partial likelihood from ``init`` (``state0``: the state at init, if known)."""
    beta = np.asarray(init, dtype=float).copy()
    st = evaluate(rs, X, w, beta) if state0 is None else state0
    loglik_init, score_init, info_init = st.loglik, st.score, st.info
    if iter_max == 0:
        return NewtonResult(beta, st, loglik_init, score_init, info_init, 0, True)
    old_ll = st.loglik
    newbeta = beta + _solve(st.info, st.score)
    halving = False
    it = 0
    converged = False
    for it in range(1, iter_max + 1):
        st_new = evaluate(rs, X, w, newbeta)
        finite = np.isfinite(st_new.loglik)
        if finite and not halving and abs(1.0 - old_ll / st_new.loglik) <= eps:
            converged = True
            break
        if it == iter_max:
            break
        if (not finite) or st_new.loglik < old_ll:
            halving = True
            newbeta = (newbeta + beta) / 2.0
        else:
            halving = False
            old_ll = st_new.loglik
            step = _solve(st_new.info, st_new.score)
            beta = newbeta
            newbeta = newbeta + step
    return NewtonResult(newbeta, st_new, loglik_init, score_init, info_init, it, converged)
