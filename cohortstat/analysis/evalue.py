"""E-values of hazard ratios (VanderWeele & Ding 2017): how strong unmeasured confounding would need to be."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["e_value"]


def e_value(hr: float, lower: float, upper: float, *, rare: bool) -> dict:
    """E-value of a hazard ratio and of the CI limit closest to 1.

    For a rare outcome (< 15% by the end of follow-up, :data:`cohortstat.constants.RARE_OUTCOME_RISK`)
    the HR approximates a risk ratio and is used as is; for a common outcome the HR is first converted
    to an approximate risk ratio ``RR = (1 - 0.5**sqrt(HR)) / (1 - 0.5**sqrt(1/HR))`` (VanderWeele &
    Ding 2017, Table 2). The E-value of ``RR >= 1`` is ``RR + sqrt(RR (RR - 1))``; for ``RR < 1`` it is
    that of ``1/RR``. The CI E-value is 1 when the interval contains 1.

    Returns
    -------
    dict
        ``e_value, e_value_ci``; NaN for a non-finite or non-positive HR or limit.

    References
    ----------
    VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the E-value.
    Ann Intern Med 2017;167:268-274.
    """

    def to_rr(h: float) -> float:
        if rare:
            return h
        return (1 - 0.5 ** math.sqrt(h)) / (1 - 0.5 ** math.sqrt(1 / h))

    def ev(rr: float) -> float:
        if rr < 1:
            rr = 1 / rr
        return rr + math.sqrt(rr * (rr - 1))

    if not all(np.isfinite([hr, lower, upper])) or min(hr, lower, upper) <= 0:
        return {"e_value": math.nan, "e_value_ci": math.nan}
    point = ev(to_rr(hr))
    if lower <= 1 <= upper:
        ci = 1.0
    else:
        ci = ev(to_rr(lower if hr > 1 else upper))
    return {"e_value": point, "e_value_ci": ci}
