"""Baseline hazard and predicted survival of a Cox fit, with standard errors as R ``survfit.coxph``.

For a covariate profile z (centred by the fit's means, as every internal quantity) with risk
``r = exp(z'beta)``, the cumulative hazard is ``H(t|z) = r sum_{t_k <= t} h_k`` and its variance

    var H(t|z) = r^2 [ sum_{t_k <= t} v_k + q(t)' V q(t) ],   q(t) = z sum_{t_k <= t} h_k - sum_{t_k <= t} x_k

with, per death time k, the hazard increment h_k, its variance increment v_k and the x-weighted
increment x_k of :func:`cohortstat.models._kernels.cox_kernel.hazard_increments` (Breslow or Efron
type) and V the variance of beta (robust when the fit has one, as R uses ``fit$var``) (Tsiatis 1981; Therneau & Grambsch 2000, section 10.2).
Survival is ``exp(-H)`` (R's default ``stype = 2``); its standard error is ``S * se(H)`` and the
confidence interval is built on the log scale of S (R's default ``conf.type = "log"``) or with
``"log-log"`` / ``"plain"``.

References
----------
Tsiatis AA (1981). A large sample study of Cox's regression model. Ann Stat 9:93-108.
Therneau TM (2024). survival 3.x, ``survfit.coxph`` / ``agsurv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cohortstat.errors import ModelInputError

from ._kernels import cox_kernel as K

CONF_TYPES = ("log", "log-log", "plain")


def _hazard_type(res, type_: str | None) -> bool:
    """True for Efron-type increments; the default follows the fit's ties (R's ``ctype``)."""
    if type_ is None:
        return res.ties == "efron"
    if type_ not in ("efron", "breslow"):
        raise ModelInputError(f"type must be 'efron' or 'breslow', got {type_!r}")
    return type_ == "efron"


def group_table(res) -> pd.DataFrame:
    """One row per death group: stratum code and time (groups are ordered by stratum, then time)."""
    d = res._data
    first = d.rs.death_rows[np.searchsorted(d.rs.death_group, np.arange(d.rs.n_groups))]
    return pd.DataFrame({"stratum": d.strata[first], "time": d.time[first]})


def _cum_by_stratum(values: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """Cumulative sums along groups, restarting at each stratum (groups sorted by stratum)."""
    c = np.cumsum(values, axis=0)
    starts = np.flatnonzero(np.r_[True, strata[1:] != strata[:-1]])
    before = np.zeros_like(c)
    for s0, s1 in zip(starts, list(starts[1:]) + [len(strata)]):
        if s0 > 0:
            before[s0:s1] = c[s0 - 1]
    return c - before


def baseline_hazard(res, centered: bool, type_: str | None) -> pd.DataFrame:
    d = res._data
    haz, _, _ = K.hazard_increments(d.rs, d.state, _hazard_type(res, type_))
    shift = 0.0 if centered else -float(d.center @ res.coef.to_numpy())
    inc = haz * np.exp(shift)
    frame = group_table(res)
    frame["increment"] = inc
    frame["cumhaz"] = _cum_by_stratum(inc, frame["stratum"].to_numpy())
    frame["stratum"] = [d.strata_levels[s] for s in frame["stratum"]]
    if res.strata is None:
        frame = frame.drop(columns="stratum")
    return frame.reset_index(drop=True)


def _profile_strata(res, profiles: pd.DataFrame) -> np.ndarray:
    """Stratum code of every profile (0 for an unstratified model)."""
    d = res._data
    if res.strata is None:
        return np.zeros(len(profiles), dtype=np.int64)
    names = (res.strata,) if isinstance(res.strata, str) else tuple(res.strata)
    absent = [c for c in names if c not in profiles.columns]
    if absent:
        raise ModelInputError(f"profiles need the strata column(s) {absent} of a stratified model")
    if isinstance(res.strata, str):
        labels = profiles[res.strata].tolist()
    else:
        labels = [", ".join(f"{n}={v}" for n, v in zip(names, row)) for row in profiles[list(names)].itertuples(index=False)]
    position = {lev: k for k, lev in enumerate(d.strata_levels)}
    unknown = [lab for lab in labels if lab not in position]
    if unknown:
        raise ModelInputError(f"stratum {unknown[0]!r} was not in the fitted data (strata {list(d.strata_levels)})")
    return np.array([position[lab] for lab in labels], dtype=np.int64)


def _confidence(surv, se_h, level: float, conf_type: str):
    z = stats.norm.ppf(0.5 + level / 2.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            lo, hi = surv * np.exp(-z * se_h), surv * np.exp(z * se_h)
        elif conf_type == "log-log":
            lh = np.log(-np.log(surv))
            se_l = se_h / np.abs(np.log(surv))
            lo, hi = np.exp(-np.exp(lh + z * se_l)), np.exp(-np.exp(lh - z * se_l))
        else:
            lo, hi = surv - z * surv * se_h, surv + z * surv * se_h
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)


def predict_survival(res, profiles: pd.DataFrame, type_: str | None, level: float, conf_type: str) -> pd.DataFrame:
    if conf_type not in CONF_TYPES:
        raise ModelInputError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if not isinstance(profiles, pd.DataFrame) or len(profiles) == 0:
        raise ModelInputError("profiles must be a non-empty DataFrame of the model's covariate columns")
    d = res._data
    beta = res.coef.to_numpy()
    Z = res.design.matrix(profiles) - d.center
    lp = Z @ beta
    if d.offset_name is not None:
        if d.offset_name not in profiles.columns:
            raise ModelInputError(f"profiles need the offset column {d.offset_name!r}")
        lp = lp + profiles[d.offset_name].to_numpy(dtype=float) - d.offset_mean
    risk = np.exp(lp)
    haz, varhaz, xhaz = K.hazard_increments(d.rs, d.state, _hazard_type(res, type_))
    groups = group_table(res)
    gs = groups["stratum"].to_numpy()
    H0 = _cum_by_stratum(haz, gs)
    V0 = _cum_by_stratum(varhaz, gs)
    X0 = _cum_by_stratum(xhaz, gs)
    pstrat = _profile_strata(res, profiles)
    out = []
    for i in range(len(profiles)):
        m = gs == pstrat[i]
        q = np.outer(H0[m], Z[i]) - X0[m]
        var_h = (V0[m] + np.einsum("kp,pq,kq->k", q, res.variance_used, q)) * risk[i] ** 2
        cumhaz = H0[m] * risk[i]
        surv = np.exp(-cumhaz)
        se_h = np.sqrt(var_h)
        lo, hi = _confidence(surv, se_h, level, conf_type)
        frame = pd.DataFrame({"profile": profiles.index[i], "time": groups["time"].to_numpy()[m],
                              "cumhaz": cumhaz, "se_cumhaz": se_h, "survival": surv, "se_survival": surv * se_h,
                              "lower": lo, "upper": hi})
        if res.strata is not None:
            frame.insert(1, "stratum", d.strata_levels[pstrat[i]])
        out.append(frame)
    return pd.concat(out, ignore_index=True)
