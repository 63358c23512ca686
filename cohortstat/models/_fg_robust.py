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

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError
from cohortstat.models._kernels.fg_kernel import fg_setup, score_residuals
from cohortstat.models._kernels.fg_newton import newton_fg


def finegray_robust_fit(model, d, weights, cluster):
    """Fit with finegray's weights and coxph's robust variance (``d``: the prepared data)."""
    from cohortstat.models.finegray import information_inverse

    wt = None
    if weights is not None:
        wt = pd.to_numeric(d.sub[weights], errors="coerce").to_numpy(dtype=float)[d.order]
        if not np.all(np.isfinite(wt)) or np.any(wt <= 0):
            raise ModelInputError(f"weights column {weights!r} must hold finite positive numbers")
    setup = fg_setup(d.time, d.status, np.zeros(d.time.size, dtype=np.int64), 1, wt=wt, failures_at_risk=False)
    nr = newton_fg(setup, d.X, model.max_iter, model.eps)
    inv = information_inverse(nr.ev.info)
    infinite = model.convergence_notes(nr, inv, d.spec.terms, d.notes)
    res = score_residuals(setup, d.X, nr.ev)
    if cluster is not None:
        _, cid = np.unique(d.sub[cluster].to_numpy()[d.order].astype(str), return_inverse=True)
        agg = np.zeros((cid.max() + 1, res.shape[1]))
        np.add.at(agg, cid, res)
        res = agg
        d.notes.append(f"robust variance clustered on {cluster!r}")
    rvar = inv @ (res.T @ res) @ inv
    rvar = (rvar + rvar.T) / 2
    return model.result(d, setup, nr, (inv + inv.T) / 2, rvar, infinite)
