"""Exact site-stratified Cox and Fine-Gray fits without moving rows: site evaluators and the coordinator.

A site holds its analysis table and answers one question: given beta, what are the log partial
likelihood, the score (p) and the information (p x p) of its own rows? With one baseline hazard per
site (stratification by site) the likelihood of the union is the sum of the sites' likelihoods, so a
Newton iteration on the summed aggregates reaches the same estimate, variance and log-likelihood as a
stratified fit on the concatenated tables, while no row leaves any site.

- Cox: the site evaluates with the Cox kernels (:mod:`cohortstat.models._kernels.cox_kernel`), Efron
  or Breslow ties, on its own rows; the coordinator repeats R ``coxph``'s Newton rules (start at 0,
  full steps, step halving towards the last good beta, ``|1 - ll_old/ll_new| <= 1e-9``).
- Fine-Gray: crr-type inverse-probability-of-censoring weights from the censoring Kaplan-Meier *of the
  site* (site-stratified censoring distribution), Breslow ties, one baseline per site; the coordinator
  repeats crr's Newton rule (convergence on the scaled score, Armijo step halving). The variance is
  crr's sandwich: the information and the "meat" (sum of squared influence terms, including the
  censoring-distribution term) are sums over sites because every influence term lives within a site.

Each site's design matrix is built for the term list the coordinator sends, so a level of a
categorical covariate that a site lacks is an all-zero column there, as in the union's design.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohortstat.errors import ConvergenceError, ModelInputError
from cohortstat.models._kernels import cox_kernel as K
from cohortstat.models._kernels.fg_kernel import crr_variance_meat, fg_eval, fg_setup
from cohortstat.models.cox import _blas_pools

__all__ = ["Aggregates", "CoxSite", "FederatedFit", "FineGraySite", "add_aggregates", "design_for_terms",
           "federated_cox", "federated_finegray", "summed"]


@dataclass(frozen=True)
class Aggregates:
    """What a site returns for one beta: sums over its rows only."""

    loglik: float
    score: np.ndarray | None
    info: np.ndarray | None
    meat: np.ndarray | None = None


def design_for_terms(df: pd.DataFrame, covariates: Sequence[str], terms: Sequence[str]) -> np.ndarray:
    """Design matrix (F order, uncentred) with exactly ``terms``: ``col`` numeric, ``col[level]`` dummies."""
    X = np.empty((len(df), len(terms)), order="F")
    for j, t in enumerate(terms):
        if t.endswith("]") and "[" in t and t.split("[", 1)[0] in covariates:
            col, lev = t[:-1].split("[", 1)
            X[:, j] = df[col].astype(str).to_numpy() == lev
        elif t in df.columns:
            X[:, j] = pd.to_numeric(df[t], errors="coerce").to_numpy(dtype=float)
        else:
            raise ModelInputError(f"term {t!r} is not a column of the site's analysis table; "
                                  "the site ran another study version - re-run it with the pooled study")
    if not np.isfinite(X).all():
        raise ModelInputError("a covariate has missing values at this site; the site's analysis table is incomplete")
    return X


def _outcome_rows(df: pd.DataFrame, duration: str) -> pd.DataFrame:
    """The outcome's analysis population: rows with a follow-up time (prevalent cases have none)."""
    return df.loc[df[duration].notna()].reset_index(drop=True)


class CoxSite:
    """One site's rows for a Cox model: ``evaluate(beta)`` gives its aggregates (efron or breslow)."""

    def __init__(self, df: pd.DataFrame, duration: str, event: str, covariates: Sequence[str],
                 terms: Sequence[str], ties: str = "efron", strata: Sequence[str] = (), cause: int = 1):
        sub = _outcome_rows(df, duration)
        t = sub[duration].to_numpy(dtype=float)
        status = (sub[event].to_numpy(dtype=float) == cause).astype(np.int8)
        X = design_for_terms(sub, covariates, terms)
        X -= X.mean(axis=0)  # a constant shift within the site leaves every aggregate unchanged
        self.X = np.asfortranarray(X)
        self.w = np.ones(len(sub))
        if strata:
            scode = pd.MultiIndex.from_frame(sub[list(strata)].astype(str)).factorize(sort=True)[0]
        else:
            scode = np.zeros(len(sub), dtype=np.int64)
        self.n = len(sub)
        self.n_events = int(status.sum())
        self.rs = K.build_risk_sets(t, status, self.w, scode.astype(np.int64), None, ties == "efron") \
            if self.n_events else None
        self.deaths = K.deaths_of(self.rs, self.X, self.w) if self.rs is not None else None

    def evaluate(self, beta, derivs: bool = True) -> Aggregates:
        """Log partial likelihood, score and information of this site's rows at ``beta``."""
        p = self.X.shape[1]
        if self.rs is None:  # no event: contributes nothing
            return Aggregates(0.0, np.zeros(p), np.zeros((p, p)))
        # as in CoxPH.fit: the compiled loops use every core, BLAS (small p x p products) one thread
        with _blas_pools().limit(limits=1, user_api="blas"):
            st = K.evaluate(self.rs, self.X, self.w, np.asarray(beta, dtype=float), deaths=self.deaths)
        return Aggregates(st.loglik, st.score, st.info)


class FineGraySite:
    """One site's rows for a Fine-Gray model with crr weights from the site's own censoring KM."""

    def __init__(self, df: pd.DataFrame, duration: str, event: str, covariates: Sequence[str],
                 terms: Sequence[str], cause: int = 1):
        sub = _outcome_rows(df, duration)
        time = sub[duration].to_numpy(dtype=float)
        ev = sub[event].to_numpy(dtype=float).astype(np.int64)
        order = np.argsort(time, kind="stable")
        status = np.where(ev[order] == cause, 1, np.where(ev[order] == 0, 0, 2)).astype(np.int8)
        X = design_for_terms(sub, covariates, terms)[order]
        self.X = X - X.mean(axis=0)
        self.n = len(sub)
        self.n_events = int((status == 1).sum())
        self.setup = fg_setup(time[order], status, np.zeros(self.n, dtype=np.int64), 1) if self.n_events else None

    def evaluate(self, beta, derivs: bool = True, meat: bool = False) -> Aggregates:
        """Log pseudo-likelihood (and score, information, crr meat) of this site's rows at ``beta``."""
        p = self.X.shape[1]
        if self.setup is None:
            z = np.zeros(p)
            return Aggregates(0.0, z, np.zeros((p, p)), np.zeros((p, p)) if meat else None)
        ev = fg_eval(self.setup, self.X, np.asarray(beta, dtype=float), derivs=derivs or meat)
        if not (derivs or meat):
            return Aggregates(ev.loglik, None, None)
        return Aggregates(ev.loglik, ev.score, ev.info, crr_variance_meat(self.setup, self.X, ev) if meat else None)


Evaluator = Callable[..., Aggregates]


def add_aggregates(parts: Sequence[Aggregates]) -> Aggregates:
    """The sum of the sites' aggregates (the stratified union's)."""
    ll = float(sum(a.loglik for a in parts))
    score = None if parts[0].score is None else np.sum([a.score for a in parts], axis=0)
    info = None if parts[0].info is None else np.sum([a.info for a in parts], axis=0)
    meat = None if parts[0].meat is None else np.sum([a.meat for a in parts], axis=0)
    return Aggregates(ll, score, info, meat)


def summed(evals: Sequence[Evaluator]) -> Evaluator:
    """One evaluator that asks every site in turn and adds their aggregates."""
    def f(beta, **kw) -> Aggregates:
        return add_aggregates([g(beta, **kw) for g in evals])
    return f


@dataclass(frozen=True)
class FederatedFit:
    """Result of a federated fit (immutable): estimate, variance and log-likelihoods."""

    model: str
    terms: tuple[str, ...]
    coef: np.ndarray
    var: np.ndarray
    loglik: float
    loglik_null: float
    iterations: int
    converged: bool
    rounds: int  # evaluation rounds sent to the sites

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.var))


def _solve(info, u):
    try:
        c = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(info, u, rcond=None)[0]
    return np.linalg.solve(c.T, np.linalg.solve(c, u))


def federated_cox(evaluate: Evaluator, terms: Sequence[str], iter_max: int = 20,
                  eps: float = 1e-9) -> FederatedFit:
    """Coordinator Newton-Raphson of a site-stratified Cox model (R ``coxph`` iteration rules).

    ``evaluate(beta) -> Aggregates``: the sum over sites (:func:`summed`), one round per call.
    """
    p = len(terms)
    rounds = 1
    beta = np.zeros(p)
    st = evaluate(beta)
    ll0 = st.loglik
    old_ll = st.loglik
    newbeta = beta + _solve(st.info, st.score)
    halving, converged, it, good = 0, False, 0, st
    for it in range(1, iter_max + 1):
        new = evaluate(newbeta)
        rounds += 1
        finite = np.isfinite(new.loglik) and np.isfinite(new.score).all() and np.isfinite(new.info).all()
        if finite and abs(1.0 - old_ll / new.loglik) <= eps:
            beta, good, converged = newbeta, new, True
            break
        if (not finite) or new.loglik < old_ll:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving, old_ll, good = 0, new.loglik, new
            step = _solve(new.info, new.score)
            beta = newbeta
            newbeta = newbeta + step
    try:
        var = np.linalg.inv(good.info)
    except np.linalg.LinAlgError as exc:
        raise ModelInputError("the pooled information matrix is singular; a covariate has no variation "
                              "within the sites' risk sets - remove it") from exc
    return FederatedFit("cox", tuple(terms), beta, var, good.loglik, ll0, it, converged, rounds)


def federated_finegray(evaluate: Evaluator, terms: Sequence[str], gtol: float = 1e-6,
                       max_iter: int = 25) -> FederatedFit:
    """Coordinator Newton-Raphson of a site-stratified Fine-Gray model (crr's rules), crr sandwich variance.

    ``evaluate(beta, derivs=True, meat=False) -> Aggregates``: the sum over sites, one round per call.
    """
    p = len(terms)
    b = np.zeros(p)
    ll0 = evaluate(b, derivs=False).loglik
    rounds, converged, it = 1, False, 0
    for it in range(max_iter + 1):
        ev = evaluate(b)
        rounds += 1
        lik = -ev.loglik
        if np.max(np.abs(ev.score) * np.maximum(np.abs(b), 1.0)) < max(abs(lik), 1.0) * gtol:
            converged = True
            break
        if it == max_iter:
            break
        try:
            sc = np.linalg.solve(ev.info, ev.score)
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError("singular pooled information matrix: remove collinear covariates") from exc
        for _ in range(21):
            bn = b + sc
            fbn = -evaluate(bn, derivs=False).loglik
            rounds += 1
            if np.isfinite(fbn) and fbn <= lik + 1e-4 * float(sc @ -ev.score):
                break
            sc = sc * 0.5
        else:
            converged = bool(np.max(np.abs(ev.score) * np.maximum(np.abs(b), 1.0)) < max(abs(lik), 1.0) * 1e-6)
            break
        b = bn
    fin = evaluate(b, meat=True)
    rounds += 1
    try:
        inv = np.linalg.inv(fin.info)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError("singular pooled information matrix: remove collinear covariates") from exc
    var = inv @ fin.meat @ inv.T
    return FederatedFit("fine_gray", tuple(terms), b, (var + var.T) / 2, fin.loglik, ll0, it, converged, rounds)
