"""Newton-Raphson for the Fine-Gray partial likelihood, with R ``coxph.fit``'s iteration rules.

Start at beta = 0 and take full Newton steps; a trial point that lowers the log-likelihood (or
makes it, the score or the information non-finite) is pulled back towards the last good estimate
(by 1/2, then 2/3, 3/4, ...); convergence when the relative change of the log-likelihood between
two successive estimates is at most ``eps`` (1e-9, as coxph). Newton steps are invariant under a
rescaling of the covariates, and so is this test: a covariate multiplied by 1e-5 gives the
coefficient multiplied by 1e5, never a stop at the starting point (a gradient-size test, as crr's,
is not scale-free). When the iterations run out the last good estimate is returned with its own
log-likelihood and derivatives and ``iterations = iter_max + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cox_newton import _solve
from .fg_kernel import FGEval, FGSetup, fg_eval
from .fg_tv import TVSetup, tv_eval


@dataclass(frozen=True)
class FGNewtonResult:
    beta: np.ndarray
    ev: FGEval  # at beta
    ev0: FGEval  # at beta = 0
    iterations: int
    converged: bool


@dataclass(frozen=True)
class StrataSetup:
    """Independent strata sharing beta (R ``finegray`` + ``coxph(... + strata(s))``): each part is
    the (setup, design rows) of one stratum; the log-likelihood and its derivatives are sums."""

    parts: tuple[tuple[FGSetup, np.ndarray], ...]


def eval_strata(setup: StrataSetup, beta: np.ndarray, derivs: bool = True) -> FGEval:
    evs = [fg_eval(s, X, beta, derivs=derivs) for s, X in setup.parts]
    cat = np.concatenate
    if not derivs:
        return FGEval(sum(e.loglik for e in evs), np.empty(0), None, cat([e.S0 for e in evs]), None,
                      cat([e.r for e in evs]))
    return FGEval(sum(e.loglik for e in evs), sum(e.score for e in evs), sum(e.info for e in evs),
                  cat([e.S0 for e in evs]), cat([e.E for e in evs]), cat([e.r for e in evs]))


def _eval(setup, X: np.ndarray, beta: np.ndarray, derivs: bool = True) -> FGEval:
    """fg_eval at a trial point; overflow (a coefficient running away) gives a non-finite value that
    the step rules reject, not a warning."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if isinstance(setup, StrataSetup):
            return eval_strata(setup, beta, derivs)
        if isinstance(setup, TVSetup):
            return tv_eval(setup, beta, derivs)
        return fg_eval(setup, X, beta, derivs=derivs)


def _step(ev: FGEval) -> np.ndarray:
    if not (np.isfinite(ev.info).all() and np.isfinite(ev.score).all()):
        return np.zeros_like(ev.score)
    return _solve(ev.info, ev.score)


def _finite(ev: FGEval) -> bool:
    return bool(np.isfinite(ev.loglik) and np.isfinite(ev.score).all() and np.isfinite(ev.info).all())


def newton_fg(setup: FGSetup, X: np.ndarray, iter_max: int = 25, eps: float = 1e-9,
              beta0: np.ndarray | None = None) -> FGNewtonResult:
    """Maximise the Fine-Gray log partial likelihood from 0 (or from ``beta0``: ``ev0`` is then there)."""
    beta = np.zeros(X.shape[1]) if beta0 is None else np.array(beta0, dtype=float)
    ev0 = _eval(setup, X, beta)
    if iter_max == 0:
        return FGNewtonResult(beta, ev0, ev0, 0, True)
    good = ev0
    newbeta = beta + _step(ev0)
    halving = 0
    for it in range(1, iter_max + 1):
        ev = _eval(setup, X, newbeta)
        finite = _finite(ev)
        if finite and abs(ev.loglik - good.loglik) <= eps * abs(ev.loglik):
            return FGNewtonResult(newbeta, ev, ev0, it, True)
        if (not finite) or ev.loglik < good.loglik:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            good = ev
            beta = newbeta
            newbeta = beta + _step(ev)
    return FGNewtonResult(beta, good, ev0, iter_max + 1, False)


def _decrement_small(ev: FGEval, eps: float) -> bool:
    """Scale-free part of the stopping rule: the Newton decrement u' I^-1 u (the log-likelihood
    gain a Newton step promises, invariant under rescaling of the covariates) is at most
    ``eps * max(|loglik|, 1)``."""
    if ev.score.size == 0:
        return True
    if not np.isfinite(ev.score).all():
        return False
    try:
        dec = float(ev.score @ _step(ev))
    except np.linalg.LinAlgError:
        return False
    return bool(np.isfinite(dec) and dec <= eps * max(abs(ev.loglik), 1.0))


def _crr_rule(ev: FGEval, b: np.ndarray, gtol: float) -> bool:
    return bool(np.max(np.abs(ev.score) * np.maximum(np.abs(b), 1.0), initial=0.0)
                < max(abs(ev.loglik), 1.0) * gtol)


def newton_crr(setup: FGSetup, X: np.ndarray, gtol: float = 1e-6, max_iter: int = 25,
               eps: float = 1e-9) -> FGNewtonResult:
    """crr's Newton-Raphson (Armijo step halving) and stopping rule, made scale-free.

    crr stops when ``max_j |u_j| max(|b_j|, 1) < max(|loglik|, 1) gtol``; that test shrinks with the
    covariates' scale (a covariate times 1e-5 passes it at b = 0). Here the Newton decrement must
    also be small (``_decrement_small``), which never binds at crr's own stopping point on data of
    ordinary scale (the estimates equal crr's) and always binds on badly scaled data. Conversely, a
    covariate times 1e5 leaves a rounding floor in the score above crr's gradient tolerance: a
    Newton decrement below ``1e-4 * eps * |loglik|`` (a step that cannot change the log-likelihood)
    is convergence too.
    """
    b = np.zeros(setup.Z.shape[2] if isinstance(setup, TVSetup) else X.shape[1])
    ev0 = _eval(setup, X, b)
    ev = ev0
    for it in range(max_iter + 1):
        if (_crr_rule(ev, b, gtol) and _decrement_small(ev, eps)) or _decrement_small(ev, eps * 1e-4):
            return FGNewtonResult(b, ev, ev0, it, True)
        if it == max_iter:
            break
        sc = _step(ev)
        lik = -ev.loglik
        decrease = 1e-4 * float(sc @ -ev.score)
        for _ in range(21):
            bn = b + sc
            ev_n = _eval(setup, X, bn)
            if _finite(ev_n) and -ev_n.loglik <= lik + decrease:
                break
            sc = sc * 0.5
            decrease *= 0.5
        else:
            # no decrease found: at the rounding floor of the log-likelihood the point is the
            # optimum when the rule holds with crr's default tolerance
            ok = _crr_rule(ev, b, 1e-6) and _decrement_small(ev, 1e-6)
            return FGNewtonResult(b, ev, ev0, it if ok else max_iter + 1, ok)
        b, ev = bn, ev_n
    return FGNewtonResult(b, ev, ev0, max_iter + 1, False)
