"""Test of proportional hazards (R ``survival::cox.zph``, survival >= 3 score-test form).

For each covariate x_j the model is extended by a term gamma_j x_j g(t), with g a transform of
time centred at its mean over the events; the test is the score test of gamma = 0 computed at
(beta_hat, 0) with the full 2p x 2p information of the extended model (so the estimation of
beta is accounted for). Per covariate column (a factor is one term with several degrees of
freedom, as R's ``terms=TRUE``) and GLOBAL.

References
----------
Grambsch PM, Therneau TM (1994). Proportional hazards tests and diagnostics based on weighted
residuals. Biometrika 81:515-526.
Therneau TM, Grambsch PM (2000). Modeling Survival Data, section 6.2.
Therneau TM (2024). survival 3.x, ``cox.zph``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.errors import ModelInputError

from ._kernels import cox_kernel as K
from .cox import CoxResult

TRANSFORMS = ("km", "identity", "rank", "log")


def _km_left(time, status, entry):
    """1 - KM(t-) at each row's time (unweighted, unstratified, as cox.zph does)."""
    ev_t = np.unique(time[status > 0])
    d = np.bincount(np.searchsorted(ev_t, time[status > 0]), minlength=ev_t.shape[0])
    st = np.sort(time)
    n_risk = time.shape[0] - np.searchsorted(st, ev_t, side="left")
    if entry is not None:
        se = np.sort(entry)
        n_risk = n_risk - (entry.shape[0] - np.searchsorted(se, ev_t, side="left"))
    surv = np.cumprod(1.0 - d / n_risk)
    idx = np.searchsorted(ev_t, time, side="left")  # number of event times < t
    return 1.0 - np.concatenate([[1.0], surv])[idx]


def time_transform(time, status, entry, transform):
    if transform == "identity":
        return time.astype(float)
    if transform == "log":
        if (time <= 0).any():
            raise ModelInputError("transform='log' needs positive times; use 'km' or 'rank'")
        return np.log(time)
    if transform == "rank":
        return stats.rankdata(time)
    if transform == "km":
        return _km_left(time, status, entry)
    raise ModelInputError(f"transform must be one of {TRANSFORMS}, got {transform!r}")


def ph_test(cox_result: CoxResult, transform: str = "km") -> pd.DataFrame:
    """Score test of proportional hazards per covariate and GLOBAL (R ``cox.zph``).

    Parameters
    ----------
    cox_result : CoxResult from :meth:`CoxPH.fit`.
    transform : {'km', 'identity', 'rank', 'log'}
        Time transform g(t): 1 - left-continuous Kaplan-Meier (default), t, rank of t among all
        exit times, log t.

    Returns
    -------
    pandas.DataFrame indexed by term (input covariate column) and ``GLOBAL`` with columns
    ``chisq, df, p``.
    """
    if not isinstance(cox_result, CoxResult) or cox_result._data is None:
        raise ModelInputError("ph_test needs the result of CoxPH().fit(...)")
    if transform not in TRANSFORMS:
        raise ModelInputError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    d = cox_result._data
    rs, X, w, st = d.rs, d.X, d.w, d.state
    if np.unique(d.time[d.status > 0]).shape[0] < 2:
        raise ModelInputError("the PH test needs events at two or more distinct times; "
                              "with a single event time there is nothing to test")
    g_all = time_transform(d.time, d.status, d.entry, transform)
    g_all = g_all - g_all[d.status > 0].mean()
    # g per k-row: the time of the k-row's death group
    group_row = d.rs.death_rows[np.searchsorted(rs.death_group, np.arange(rs.n_groups))]
    gk = g_all[group_row][rs.k_group]
    gd = g_all[rs.death_rows]
    p = X.shape[1]
    u2 = X[rs.death_rows].T @ (w[rs.death_rows] * gd) - st.xbar.T @ (rs.k_weight * gk)
    i11 = st.info
    i12 = K.information(rs, X, st, kmult=gk)
    i22 = K.information(rs, X, st, kmult=gk * gk)
    imat = np.block([[i11, i12], [i12.T, i22]])
    names, chisq, dfs = [], [], []
    try:
        np.linalg.cholesky(imat)
    except np.linalg.LinAlgError as exc:
        raise ModelInputError(
            "the information matrix of the PH score test is singular (a covariate times g(t) has no "
            "variation over the event times); try another transform or drop the covariate"
        ) from exc
    for term, cols in d.term_columns.items():
        jj = np.asarray(cols)
        kk = np.concatenate([np.arange(p), p + jj])
        u = np.concatenate([np.zeros(p), u2[jj]])
        chisq.append(float(u @ np.linalg.solve(imat[np.ix_(kk, kk)], u)))
        dfs.append(len(jj))
        names.append(term)
    u = np.concatenate([np.zeros(p), u2])
    chisq.append(float(u @ np.linalg.solve(imat, u)))
    dfs.append(p)
    names.append("GLOBAL")
    chisq_a = np.asarray(chisq)
    df_a = np.asarray(dfs)
    return pd.DataFrame({"chisq": chisq_a, "df": df_a, "p": stats.chi2.sf(chisq_a, df_a)},
                        index=pd.Index(names, name="term"))
