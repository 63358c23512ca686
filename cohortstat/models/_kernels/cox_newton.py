"""Newton-Raphson for the Cox partial likelihood with R ``coxph``'s iteration rules.

Follows the iteration rules of R survival's ``coxph.fit`` (survival 3.x): start at ``init`` (0)
and take full Newton steps; a trial point that lowers the log-likelihood (or makes it, the score
or the information non-finite) is pulled back towards the last good estimate, by 1/2 the first
time, then 2/3, 3/4, ... (each further failure backs off more); convergence when
``|1 - loglik_best / loglik_new| <= eps``, at most ``iter_max`` evaluations after the initial one.
When the iterations run out the last good estimate is returned with its own log-likelihood, score
and information, and ``iterations = iter_max + 1`` (not converged), as R does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cox_kernel import DeathRows, KernelState, RiskSets, deaths_of, evaluate


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


def newton(rs: RiskSets, X, w, init, iter_max=20, eps=1e-9, state0: KernelState | None = None,
           deaths: DeathRows | None = None, offset=None) -> NewtonResult:
    """Maximise the log partial likelihood from ``init`` (``state0``: the state at init, if known)."""
    beta = np.asarray(init, dtype=float).copy()
    deaths = deaths_of(rs, X, w) if deaths is None else deaths
    st = evaluate(rs, X, w, beta, deaths=deaths, offset=offset) if state0 is None else state0
    loglik_init, score_init, info_init = st.loglik, st.score, st.info
    if iter_max == 0:
        return NewtonResult(beta, st, loglik_init, score_init, info_init, 0, True)
    old_ll = st.loglik
    st_good = st
    newbeta = beta + _solve(st.info, st.score)
    halving = 0
    for it in range(1, iter_max + 1):
        st_new = evaluate(rs, X, w, newbeta, deaths=deaths, offset=offset)
        finite = (np.isfinite(st_new.loglik) and np.isfinite(st_new.score).all()
                  and np.isfinite(st_new.info).all())
        if finite and abs(1.0 - old_ll / st_new.loglik) <= eps:
            return NewtonResult(newbeta, st_new, loglik_init, score_init, info_init, it, True)
        if (not finite) or st_new.loglik < old_ll:
            # not improving: back off towards the last good beta, more each time
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            old_ll = st_new.loglik
            st_good = st_new
            step = _solve(st_new.info, st_new.score)
            beta = newbeta
            newbeta = newbeta + step
    # ran out of iterations: the last good beta with its own loglik, score and information, and
    # iterations = iter_max + 1, as R coxph.fit reports (survival tests book1.R: beta = 8/5 after one)
    return NewtonResult(beta, st_good, loglik_init, score_init, info_init, iter_max + 1, False)
