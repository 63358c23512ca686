"""Natural cubic spline basis, equal to R's ``splines::ns``.

``NaturalSpline.from_data(x, df=4)`` places the knots as R does and ``.basis(x)`` evaluates the basis on
any values (linear beyond the boundary knots, as R's ``predict.ns``). With ``intercept=False`` (R's
default) the basis has ``df`` columns:

1. interior knots: ``df - 1`` quantiles of ``x`` at probabilities ``1/df, ..., (df-1)/df`` (R's default
   quantile, type 7: numpy's ``linear``); boundary knots: ``min(x)``, ``max(x)``;
2. the cubic B-spline basis on the knots ``(b0, b0, b0, b0, k1, ..., kK, b1, b1, b1, b1)``, first column
   dropped (no intercept);
3. the constraint "second derivative zero at both boundary knots" removed by projecting on the last
   columns of the Q factor of the QR decomposition of the transposed constraint matrix (R:
   ``qr.qy(qr(t(const)), t(basis))[-(1:2), ]``).

The Householder QR of LAPACK (numpy) and of LINPACK (R's ``qr``) build the same reflectors (each maps
its column to ``-sign(x1) * ||x|| e1``), so the full Q and hence the basis are the same;
``tests/reference/coxph_ns`` checks the basis and a Cox fit on it against R.

References
----------
Hastie TJ. Generalized additive models. In: Chambers JM, Hastie TJ, eds. Statistical Models in S.
Wadsworth & Brooks/Cole; 1992. (R package ``splines``, function ``ns``.)
de Boor C. A Practical Guide to Splines. Springer; 1978.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import BSpline

from cohortstat.errors import ModelInputError

__all__ = ["NaturalSpline", "ns"]

_ORDER = 4  # cubic


def _bspline_basis(knots: np.ndarray, x: np.ndarray, deriv: int = 0) -> np.ndarray:
    """Every B-spline of order 4 on ``knots`` (or its ``deriv``-th derivative) at ``x``: (len(x), n)."""
    n = knots.size - _ORDER
    spline = BSpline(knots, np.eye(n), _ORDER - 1, extrapolate=False)
    if deriv:
        spline = spline.derivative(deriv)
    out = spline(x)
    # scipy leaves the right end of the last interval out of the closed support; R includes it
    right = x == knots[-1]
    if right.any():
        inner = BSpline(knots, np.eye(n), _ORDER - 1, extrapolate=True)
        out[right] = (inner.derivative(deriv) if deriv else inner)(x[right])
    return np.nan_to_num(out, nan=0.0)


@dataclass(frozen=True)
class NaturalSpline:
    """A natural cubic spline basis with fixed knots (immutable).

    Attributes
    ----------
    knots : tuple of float
        Interior knots.
    boundary : tuple of float
        Boundary knots (lower, upper).
    intercept : bool
        Whether the basis includes the intercept column (``df`` columns either way).
    """

    knots: tuple[float, ...]
    boundary: tuple[float, float]
    intercept: bool = False

    @classmethod
    def from_data(cls, x, df: int, intercept: bool = False) -> NaturalSpline:
        """Knots of R ``ns(x, df = df, intercept = intercept)``: quantiles and the range of ``x``."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all():
            raise ModelInputError("a spline needs a non-empty one-dimensional array of finite values")
        if int(df) != df or df < 1:
            raise ModelInputError(f"df must be an integer >= 1, got {df!r}")
        n_inner = int(df) - 1 - int(intercept)
        if n_inner < 0:
            raise ModelInputError("df must be >= 2 with intercept=True")
        lo, hi = float(x.min()), float(x.max())
        if lo == hi:
            raise ModelInputError("a spline needs a variable with at least two distinct values")
        probs = np.linspace(0.0, 1.0, n_inner + 2)[1:-1]
        inner = tuple(float(q) for q in np.quantile(x, probs)) if n_inner else ()
        return cls(inner, (lo, hi), bool(intercept))

    @property
    def df(self) -> int:
        """Number of basis columns."""
        return len(self.knots) + 1 + int(self.intercept)

    def _all_knots(self) -> np.ndarray:
        b0, b1 = self.boundary
        return np.array([b0] * _ORDER + list(self.knots) + [b1] * _ORDER, dtype=float)

    def _projection(self) -> np.ndarray:
        """The matrix that maps the B-spline basis to the natural spline basis: (n_bsplines, df)."""
        knots = self._all_knots()
        const = _bspline_basis(knots, np.array(self.boundary), deriv=2)  # (2, n)
        if not self.intercept:
            const = const[:, 1:]
        q, _ = np.linalg.qr(const.T, mode="complete")
        return q[:, 2:]

    def basis(self, x) -> np.ndarray:
        """The basis at ``x``: (len(x), df), linear beyond the boundary knots (R ``predict.ns``)."""
        x = np.asarray(x, dtype=float)
        if not np.isfinite(x).all():
            raise ModelInputError("spline values must be finite (drop missing values first)")
        values, where = np.unique(x, return_inverse=True)
        if values.size < x.size:  # ages and years repeat: evaluate each value once
            return self._basis(values)[where.reshape(-1)]
        return self._basis(x)

    def _basis(self, x: np.ndarray) -> np.ndarray:
        knots = self._all_knots()
        b0, b1 = self.boundary
        inside = (x >= b0) & (x <= b1)
        full = np.empty((x.size, knots.size - _ORDER))
        full[inside] = _bspline_basis(knots, x[inside])
        for pivot, side in ((b0, x < b0), (b1, x > b1)):
            if side.any():  # first-order Taylor expansion at the boundary knot
                at = np.array([pivot])
                value, slope = _bspline_basis(knots, at)[0], _bspline_basis(knots, at, deriv=1)[0]
                full[side] = value + np.outer(x[side] - pivot, slope)
        if not self.intercept:
            full = full[:, 1:]
        return full @ self._projection()


def ns(x, df: int, intercept: bool = False) -> np.ndarray:
    """R ``splines::ns(x, df = df)``: the natural cubic spline basis of ``x`` with knots from ``x``."""
    return NaturalSpline.from_data(x, df, intercept).basis(x)
