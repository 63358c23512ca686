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
from cohortstat.models._kernels.fg_kernel import fg_eval, fg_setup, score_residuals
from cohortstat.models._kernels.fg_newton import StrataSetup, newton_fg


def finegray_robust_fit(model, d, weights, cluster, strata=None):
    """Fit with finegray's weights and coxph's robust variance (``d``: the prepared data).

    ``strata``: a column or list; each stratum gets its own censoring distribution (finegray's
    ``strata()``) and its own baseline and risk sets (``coxph(... + strata())``).
    """
    from cohortstat.models._design import strata_codes
    from cohortstat.models.finegray import information_inverse

    wt = None
    if weights is not None:
        wt = pd.to_numeric(d.sub[weights], errors="coerce").to_numpy(dtype=float)[d.order]
        if not np.all(np.isfinite(wt)) or np.any(wt <= 0):
            raise ModelInputError(f"weights column {weights!r} must hold finite positive numbers")
    if strata is None:
        scode, levels = np.zeros(d.time.size, dtype=np.int64), (None,)
    else:
        c, _, levels, _ = strata_codes(d.sub, strata)
        scode = c[d.order]
    parts, masks, labels = [], [], []
    for k, lev in enumerate(levels):
        m = scode == k
        if not (d.status[m] == 1).any():
            d.notes.append(f"stratum {lev!r} has no event of cause {model.cause} and adds nothing to the likelihood")
            continue
        setup = fg_setup(d.time[m], d.status[m], np.zeros(int(m.sum()), dtype=np.int64), 1,
                         wt=None if wt is None else wt[m], failures_at_risk=False)
        parts.append((setup, np.asfortranarray(d.X[m])))
        masks.append(m)
        labels.append(lev)
    joint = parts[0][0] if len(parts) == 1 else StrataSetup(tuple(parts))
    nr = newton_fg(joint, parts[0][1] if len(parts) == 1 else d.X, model.max_iter, model.eps)
    inv = information_inverse(nr.ev.info)
    infinite = model.convergence_notes(nr, inv, d.spec.terms, d.notes)
    res = np.zeros((d.time.size, d.X.shape[1]))
    frames = []
    for (setup, X), m, lev in zip(parts, masks, labels):
        ev = fg_eval(setup, X, nr.beta)
        res[m] = score_residuals(setup, X, ev)
        with np.errstate(over="ignore"):
            jumps = setup.d / ev.S0 * np.exp(-(d.means @ nr.beta))
        frame = pd.DataFrame({"time": setup.uft, "jump": jumps, "cumhaz": np.cumsum(jumps)})
        if strata is not None:
            frame.insert(0, "stratum", lev)
        frames.append(frame)
    if cluster is not None:
        _, cid = np.unique(d.sub[cluster].to_numpy()[d.order].astype(str), return_inverse=True)
        agg = np.zeros((cid.max() + 1, res.shape[1]))
        np.add.at(agg, cid, res)
        res = agg
        d.notes.append(f"robust variance clustered on {cluster!r}")
    rvar = inv @ (res.T @ res) @ inv
    rvar = (rvar + rvar.T) / 2
    baseline = pd.concat(frames, ignore_index=True)
    return model.result(d, None, nr, (inv + inv.T) / 2, rvar, infinite, baseline=baseline, strata=strata)
