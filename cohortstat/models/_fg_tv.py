"""FineGray(variance="crr", time_varying={column: tf}): crr's ``cov2``/``tf`` time-varying terms."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError
from cohortstat.models._kernels.fg_newton import newton_crr
from cohortstat.models._kernels.fg_tv import MAX_CELLS, tv_crr_variance_meat, tv_setup
from cohortstat.models.design import numeric_values

TRANSFORMS = {"log": ("log(t)", np.log), "identity": ("t", lambda t: np.asarray(t, dtype=float))}


def _transform(tf) -> tuple[str, object]:
    if isinstance(tf, str):
        if tf not in TRANSFORMS:
            raise ModelInputError(f"a time transform must be one of {sorted(TRANSFORMS)} or a function, got {tf!r}")
        return TRANSFORMS[tf]
    if callable(tf):
        return f"{getattr(tf, '__name__', 'tf')}(t)", tf
    raise ModelInputError(f"a time transform must be one of {sorted(TRANSFORMS)} or a function, got {tf!r}")


def finegray_tv_fit(model, d, setup, tv: dict):
    """Fit with the time-varying terms ``column:tf(t)`` appended to the fixed design."""
    from cohortstat.models.finegray import information_inverse

    names, X2, TF = [], [], []
    for col, tf in tv.items():
        label, fn = _transform(tf)
        values = np.asarray(fn(setup.uft), dtype=float).reshape(-1)
        if values.shape != setup.uft.shape or not np.isfinite(values).all():
            raise ModelInputError(f"time transform {label} of {col!r} must give one finite value per failure time "
                                  "(log needs times > 0)")
        x = numeric_values(d.sub[col], col, "time-varying covariate")[d.order]
        X2.append(x - x.mean())
        TF.append(values)
        names.append(f"{col}:{label}")
    X2 = np.column_stack(X2)
    TF = np.column_stack(TF)
    n, K, p = d.time.size, setup.uft.size, d.X.shape[1] + X2.shape[1]
    if n * K * p > MAX_CELLS:
        raise ModelInputError(f"time-varying terms need an n x K x p array ({n} x {K} x {p}); too large - "
                              "coarsen the times or fit on a sample")
    t = tv_setup(setup, d.X, X2, TF)
    nr = newton_crr(t, None, model.gtol, model.max_iter, model.eps)
    terms = (*d.spec.terms, *names)
    inv = information_inverse(nr.ev.info)
    infinite = model.convergence_notes(nr, inv, terms, d.notes, model.refine_crr(t, None))
    var = inv @ tv_crr_variance_meat(t, nr.ev) @ inv.T
    var = (var + var.T) / 2
    p1 = d.X.shape[1]
    means2 = np.array([d.sub[c].to_numpy(dtype=float).mean() for c in tv])
    shift = d.means @ nr.beta[:p1] + (TF * means2[None, :]) @ nr.beta[p1:]
    with np.errstate(over="ignore"):
        jumps = setup.d / nr.ev.S0 * np.exp(-shift)
    baseline = pd.DataFrame({"time": setup.uft, "jump": jumps, "cumhaz": np.cumsum(jumps)})
    return model.result(d, setup, nr, var, None, infinite, baseline=baseline, terms=terms)
