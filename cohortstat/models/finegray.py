"""Fine-Gray subdistribution hazard regression, equal to R ``cmprsk::crr``, in O(n log n).

References
----------
Fine JP, Gray RJ (1999). A proportional hazards model for the subdistribution of a competing risk.
JASA 94:496-509.
Kawaguchi ES, Shen JI, Suchard MA, Li G (2021). Scalable algorithms for large competing risks data.
J Comput Graph Stat 30:685-693 (forward-backward scan).
Gray RJ. cmprsk: Subdistribution Analysis of Competing Risks (R package, crr).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.errors import ConvergenceError, ConvergenceWarning, ModelInputError
from cohortstat.models._cr_input import prepare
from cohortstat.models._kernels.fg_kernel import (
    crr_variance_meat,
    fg_eval,
    fg_setup,
)

TABLE_COLUMNS = ["term", "coef", "hr", "se", "robust_se", "ci_lower", "ci_upper", "z", "p"]


@dataclass(frozen=True)
class FineGrayResult:
    """Result of :meth:`FineGray.fit` (immutable).

    ``se`` is the standard error of the chosen variance: with ``variance="crr"`` the square root of the
    diagonal of crr's ``var`` (Fine & Gray sandwich with the censoring-distribution term), and
    ``robust_se`` is None; with ``variance="robust"``, ``se`` is the model-based SE and ``robust_se``
    the robust (sandwich) SE of ``coxph`` fitted on ``survival::finegray`` data, as coxph reports both;
    z, p and confidence intervals then use ``robust_se``.
    """

    coef: pd.Series
    se: pd.Series
    robust_se: pd.Series | None
    var: pd.DataFrame
    information: pd.DataFrame
    loglik_null: float
    loglik: float
    n: int
    n_events: int
    n_competing: int
    iterations: int
    converged: bool
    cause: int
    variance: str
    baseline: pd.DataFrame  # time, jump, cumhaz (covariates at 0, uncentered, as crr's bfitj)
    notes: tuple[str, ...] = field(default=())

    def table(self, alpha: float = 0.05) -> pd.DataFrame:
        """Tidy table with columns term, coef, hr, se, robust_se, ci_lower, ci_upper, z, p."""
        se_used = self.robust_se if self.robust_se is not None else self.se
        zq = stats.norm.ppf(1 - alpha / 2)
        z = self.coef / se_used
        out = pd.DataFrame({
            "term": self.coef.index,
            "coef": self.coef.to_numpy(),
            "hr": np.exp(self.coef.to_numpy()),
            "se": self.se.to_numpy(),
            "robust_se": (self.robust_se.to_numpy() if self.robust_se is not None
                          else np.full(len(self.coef), np.nan)),
            "ci_lower": np.exp(self.coef.to_numpy() - zq * se_used.to_numpy()),
            "ci_upper": np.exp(self.coef.to_numpy() + zq * se_used.to_numpy()),
            "z": z.to_numpy(),
            "p": 2 * stats.norm.sf(np.abs(z.to_numpy())),
        })
        return out[TABLE_COLUMNS].reset_index(drop=True)

    def predict_cif(self, profile: dict | pd.Series | Sequence[float]) -> pd.DataFrame:
        """Cumulative incidence of the cause for one covariate profile (as ``predict.crr``).

        CIF(t | z) = 1 - exp(-exp(z'beta) * Lambda0(t)), at every distinct failure time of the cause.
        ``profile`` gives a value for every term (dict/Series keyed by term, or a sequence in term order).
        """
        if isinstance(profile, dict | pd.Series):
            missing = [t for t in self.coef.index if t not in profile]
            if missing:
                raise ModelInputError(f"profile lacks a value for term(s) {missing}")
            z = np.array([float(profile[t]) for t in self.coef.index])
        else:
            z = np.asarray(profile, dtype=float)
            if z.shape != (len(self.coef),):
                raise ModelInputError(f"profile must have {len(self.coef)} values, in the order {list(self.coef.index)}")
        lp = float(z @ self.coef.to_numpy())
        cif = 1.0 - np.exp(-np.exp(lp) * self.baseline["cumhaz"].to_numpy())
        return pd.DataFrame({"time": self.baseline["time"].to_numpy(), "cif": cif})


class FineGray:
    """Fine-Gray proportional subdistribution hazards model.

    Parameters
    ----------
    cause : int
        Event code of the cause of interest; other positive codes are competing causes, 0 censored.
    variance : {"crr", "robust"}
        "crr": estimates, log-likelihood and variance of ``cmprsk::crr`` (Breslow ties, IPCW weights
        from the Kaplan-Meier of censoring evaluated just before each time, Fine & Gray sandwich including
        the censoring term). "robust": estimates and robust variance of ``coxph(Surv(fgstart, fgstop,
        fgstatus) ~ ..., weights = fgwt, ties = "breslow", robust = TRUE)`` on ``survival::finegray`` data.
    gtol, max_iter : float, int
        crr's convergence rule: stop when max|score_j| * max(|b_j|, 1) < max(|loglik|, 1) * gtol;
        Newton-Raphson with step halving as crr.

    References
    ----------
    Fine JP, Gray RJ (1999). JASA 94:496-509. Kawaguchi ES et al. (2021). JCGS 30:685-693.
    Therneau T, Crowson C, Atkinson E. Multi-state models and competing risks (survival vignette).
    """

    def __init__(self, cause: int = 1, variance: Literal["crr", "robust"] = "crr",
                 gtol: float = 1e-6, max_iter: int = 25):
        if variance not in ("crr", "robust"):
            raise ModelInputError(f"variance must be 'crr' or 'robust', got {variance!r}")
        if not isinstance(cause, int | np.integer) or cause < 1:
            raise ModelInputError(f"cause must be a positive integer event code, got {cause!r}")
        self.cause = int(cause)
        self.variance = variance
        self.gtol = float(gtol)
        self.max_iter = int(max_iter)

    def fit(self, df: pd.DataFrame, duration: str, event: str, covariates: Sequence[str],
            weights: str | None = None, cluster: str | None = None,
            cengroup: str | None = None, strata: str | None = None) -> FineGrayResult:
        """Fit the model. ``cengroup`` (crr only): censoring distribution estimated by group.

        ``weights``: not defined for crr's estimator (raises ModelInputError); supported with
        variance="robust" as finegray's user weights. ``cluster``: robust only (default cluster is
        the subject). ``strata``: robust only (finegray strata: censoring KM and baseline by stratum).
        """
        if self.variance == "crr":
            for name, val in (("weights", weights), ("cluster", cluster), ("strata", strata)):
                if val is not None:
                    raise ModelInputError(
                        f"{name}= is not defined for crr's estimator and variance; use "
                        f"FineGray(variance='robust') for {name}, or drop it")
        elif cengroup is not None:
            raise ModelInputError("cengroup= is crr's option; with variance='robust' use strata=")
        extra = [c for c in (cengroup, weights, cluster, strata) if c is not None]
        data, sub = prepare(df, duration, event, covariates, extra=extra)
        notes: list[str] = []
        if data.n_dropped:
            notes.append(f"{data.n_dropped} rows dropped for missing values")
        if data.X.shape[1] == 0:
            raise ModelInputError("Fine-Gray needs at least one covariate")
        n_events = int((data.event == self.cause).sum())
        if n_events == 0:
            raise ModelInputError(f"no event of cause {self.cause} in the data; check cause= and event codes")
        n_comp = int(((data.event > 0) & (data.event != self.cause)).sum())
        terms = list(data.terms)
        if self.variance == "robust":
            from cohortstat.models._fg_robust import finegray_robust_fit

            return finegray_robust_fit(self, data, sub, weights, cluster, strata, notes, n_events, n_comp)

        order = np.argsort(data.time, kind="stable")
        time = data.time[order]
        status = np.where(data.event[order] == self.cause, 1,
                          np.where(data.event[order] == 0, 0, 2)).astype(np.int8)
        means = data.X.mean(axis=0)
        X = data.X[order]
        X -= means  # centring leaves the partial likelihood and crr's variance unchanged
        if cengroup is not None:
            levels, gcode = np.unique(sub[cengroup].to_numpy()[order].astype(str), return_inverse=True)
            ncg = levels.size
        else:
            gcode, ncg = np.zeros(time.size, dtype=np.int64), 1
        setup = fg_setup(time, status, gcode, ncg)
        beta, ev, it, converged = newton_crr(setup, X, self.gtol, self.max_iter)
        null = fg_eval(setup, X, np.zeros(X.shape[1]), derivs=False)
        if not converged:
            warnings.warn(f"Fine-Gray fit did not converge in {self.max_iter} iterations; "
                          "check for separation (a covariate level without events)", ConvergenceWarning,
                          stacklevel=2)
            notes.append("not converged")
        info = ev.info
        try:
            inv = np.linalg.inv(info)
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError("information matrix is singular: remove collinear covariates") from exc
        meat = crr_variance_meat(setup, X, ev)
        var = inv @ meat @ inv.T
        var = (var + var.T) / 2
        se = np.sqrt(np.diag(var))
        jumps = setup.d / ev.S0 * np.exp(-(means @ beta))  # baseline at covariates 0 (uncentred)
        baseline = pd.DataFrame({"time": setup.uft, "jump": jumps, "cumhaz": np.cumsum(jumps)})
        return FineGrayResult(
            coef=pd.Series(beta, index=terms), se=pd.Series(se, index=terms), robust_se=None,
            var=pd.DataFrame(var, index=terms, columns=terms),
            information=pd.DataFrame(info, index=terms, columns=terms),
            loglik_null=null.loglik, loglik=ev.loglik, n=int(time.size), n_events=n_events,
            n_competing=n_comp, iterations=it, converged=converged, cause=self.cause,
            variance="crr", baseline=baseline, notes=tuple(notes))


def newton_crr(setup, X, gtol: float, max_iter: int):
    """Newton-Raphson with crr's convergence test and step-halving (Armijo) rule."""
    p = X.shape[1]
    b = np.zeros(p)
    converged = False
    it = 0
    for it in range(max_iter + 1):
        ev = fg_eval(setup, X, b)
        lik = -ev.loglik
        if np.max(np.abs(ev.score) * np.maximum(np.abs(b), 1.0)) < max(abs(lik), 1.0) * gtol:
            converged = True
            break
        if it == max_iter:
            break
        try:
            sc = np.linalg.solve(ev.info, ev.score)
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError("singular information matrix: remove collinear covariates") from exc
        halvings = 0
        while True:
            bn = b + sc
            fbn = -fg_eval(setup, X, bn, derivs=False).loglik
            if np.isfinite(fbn) and fbn <= lik + 1e-4 * float(sc @ -ev.score):
                break
            halvings += 1
            sc = sc * 0.5
            if halvings > 20:
                break
        if halvings > 20:
            # no decrease found: at the rounding floor of the log-likelihood the point is the
            # optimum when crr's default rule holds
            converged = bool(np.max(np.abs(ev.score) * np.maximum(np.abs(b), 1.0)) < max(abs(lik), 1.0) * 1e-6)
            break
        b = bn
    return b, ev, it, converged
