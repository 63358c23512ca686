"""FineGray(variance="robust"): the fit of ``survival::finegray`` + ``coxph(..., weights = fgwt,
ties = "breslow", cluster = id)`` computed without expanding the data.

finegray's weighting differs from crr's in one tie rule: its censoring Kaplan-Meier moves event times
just before censorings at the same time, so subjects failing at a censoring time are not at risk for
that censoring (crr counts them at risk). The expanded rows of a competing failure carry weight
G(s-)/G(t_i-) over each later interval; summed over a subject's rows, coxph's weighted score residuals
are exactly the eta_i of Fine & Gray, so the robust variance is I^-1 (sum_c U_c U_c') I^-1 with U_c
the sum of weighted residuals of cluster c (default: one cluster per subject, as cluster = id).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from cohortstat.errors import ConvergenceError, ConvergenceWarning, ModelInputError
from cohortstat.models._kernels.fg_kernel import fg_eval, fg_setup, score_residuals


def finegray_robust_fit(model, data, sub: pd.DataFrame, weights, cluster, strata, notes, n_events, n_comp):
    from cohortstat.models.finegray import FineGrayResult, newton_crr

    if strata is not None:
        raise ModelInputError("strata= is not supported by FineGray yet; fit each stratum separately "
                              "or add the stratum as a covariate")
    order = np.argsort(data.time, kind="stable")
    time = data.time[order]
    status = np.where(data.event[order] == model.cause, 1,
                      np.where(data.event[order] == 0, 0, 2)).astype(np.int8)
    wt = None
    if weights is not None:
        wt = pd.to_numeric(sub[weights], errors="coerce").to_numpy(dtype=float)[order]
        if not np.all(np.isfinite(wt)) or np.any(wt <= 0):
            raise ModelInputError(f"weights column {weights!r} must hold finite positive numbers")
    X_raw = data.X[order]
    means = X_raw.mean(axis=0)
    X = X_raw - means
    setup = fg_setup(time, status, np.zeros(time.size, dtype=np.int64), 1, wt=wt, failures_at_risk=False)
    # coxph iterates to full convergence; a tight gradient rule reproduces its estimate
    beta, ev, it, converged = newton_crr(setup, X, 1e-11, max(model.max_iter, 30))
    if not converged:
        warnings.warn("Fine-Gray (robust) fit did not converge; check for separation",
                      ConvergenceWarning, stacklevel=3)
        notes.append("not converged")
    null = fg_eval(setup, X, np.zeros(X.shape[1]), derivs=False)
    try:
        inv = np.linalg.inv(ev.info)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError("information matrix is singular: remove collinear covariates") from exc
    res = score_residuals(setup, X, ev)
    if cluster is not None:
        _, cid = np.unique(sub[cluster].to_numpy()[order].astype(str), return_inverse=True)
        agg = np.zeros((cid.max() + 1, res.shape[1]))
        np.add.at(agg, cid, res)
        res = agg
        notes.append(f"robust variance clustered on {cluster!r}")
    rvar = inv @ (res.T @ res) @ inv
    rvar = (rvar + rvar.T) / 2
    terms = list(data.terms)
    jumps = setup.d / ev.S0 * np.exp(-(means @ beta))
    baseline = pd.DataFrame({"time": setup.uft, "jump": jumps, "cumhaz": np.cumsum(jumps)})
    return FineGrayResult(
        coef=pd.Series(beta, index=terms), se=pd.Series(np.sqrt(np.diag(inv)), index=terms),
        robust_se=pd.Series(np.sqrt(np.diag(rvar)), index=terms),
        var=pd.DataFrame(rvar, index=terms, columns=terms),
        information=pd.DataFrame(ev.info, index=terms, columns=terms),
        loglik_null=null.loglik, loglik=ev.loglik, n=int(time.size), n_events=n_events,
        n_competing=n_comp, iterations=it, converged=converged, cause=model.cause, variance="robust",
        baseline=baseline, notes=tuple(notes))
