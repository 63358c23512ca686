"""Estimates of the planted design effects from a ground-truth table (shared by the tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohortstat.data import _synth_params as P
from cohortstat.data._synth_design import age_band, nc_outcome
from cohortstat.models.cox import CoxPH

ADJUST = ["exposure", "age", "sex", "charlson", "tobacco"]


def exposure_fit(d: pd.DataFrame, outcome: str, covariates=ADJUST, duration: str | None = None,
                 event: str | None = None) -> tuple[float, float]:
    """Cause-specific Cox log-HR of exposure and its SE (death and end of data censor)."""
    d = d.dropna(subset=[f"time_{outcome}"]).copy()
    if duration is None:
        d["_t"], d["_e"] = d[f"time_{outcome}"], (d[f"event_{outcome}"] == 1).astype(int)
    else:
        d["_t"], d["_e"] = d[duration], d[event]
    tab = CoxPH().fit(d, duration="_t", event="_e", covariates=list(covariates)).table().set_index("term")
    return float(tab.loc["exposure", "coef"]), float(tab.loc["exposure", "se"])


def age_band_fits(d: pd.DataFrame) -> list[tuple[float, float, float]]:
    """(planted, estimate, se) of the myeloid exposure log-HR in each age band (Cox within the band)."""
    band = age_band(d["age"].to_numpy())
    return [(truth, *exposure_fit(d[band == j], "myeloid"))
            for j, truth in enumerate(P.MYELOID_EXPOSURE_BY_AGE_BAND)]


def period_fits(d: pd.DataFrame, blanking_days: int = 365) -> list[tuple[float, float, float]]:
    """(planted, estimate, se) of the in_situ exposure log-HR per planted period after the blanking.

    Follow-up is split at the period edges (days since discharge); within a period the hazards are
    constant, so a Cox fit on the time since the period start, among patients at risk at its start,
    recovers the period's HR.
    """
    d = d.dropna(subset=["time_in_situ"])
    out = []
    edges = P.PERIOD_EDGES_DAYS
    for j, truth in enumerate(P.IN_SITU_EXPOSURE_BY_PERIOD):
        a = max(edges[j] - blanking_days, 0)
        b = edges[j + 1] - blanking_days
        t, e = d["time_in_situ"].to_numpy(), d["event_in_situ"].to_numpy()
        at_risk = t > a
        piece = d[at_risk].copy()
        piece["_t"] = np.minimum(t[at_risk], b) - a
        piece["_e"] = ((e[at_risk] == 1) & (t[at_risk] <= b)).astype(int)
        out.append((truth, *exposure_fit(piece, "in_situ", duration="_t", event="_e")))
    return out


def negative_control_fits(d: pd.DataFrame, with_u: bool) -> dict[str, tuple[float, float]]:
    """Exposure log-HR and SE of each negative control, adjusted for U or not."""
    cov = ADJUST + ["unmeasured_u"] if with_u else ADJUST
    return {k: exposure_fit(d, nc_outcome(k), cov) for k in P.NEGATIVE_CONTROLS}


def nonsevere_fits(d: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """(planted, estimate, se) of sepsis vs nonsevere infection per cancer site."""
    return {k: (v, *exposure_fit(d, k)) for k, v in P.SEPSIS_VS_NONSEVERE.items() if k != "death"}
