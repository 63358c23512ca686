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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from cohortstat.errors import ConvergenceError, ConvergenceWarning, ModelInputError
from cohortstat.models._design import check_competing, event_status, survival_arrays
from cohortstat.models._kernels.fg_kernel import crr_variance_meat, fg_setup
from cohortstat.models._kernels.fg_newton import FGNewtonResult, newton_crr, newton_fg
from cohortstat.models._results import RegressionResult, chisq_test, frozen_series
from cohortstat.models.design import DesignSpec, as_list, check_roles, complete_rows

EPS = 1e-9  # relative change of the log-likelihood, as coxph.control
TOLER_INF = np.sqrt(EPS)


@dataclass(frozen=True)
class FineGrayResult(RegressionResult):
    """Result of :meth:`FineGray.fit` (frozen). See :class:`RegressionResult` for the attributes.

    With ``variance="crr"``, ``var`` is crr's variance (Fine & Gray sandwich with the
    censoring-distribution term), ``se`` its square-root diagonal and ``robust_se``/``robust_var``
    None. With ``variance="robust"``, ``var``/``se`` are model-based (inverse information) and
    ``robust_var``/``robust_se`` the sandwich of ``coxph`` fitted on ``survival::finegray`` data, as
    coxph reports both; tests, z, p and intervals then use the robust variance.

    Extra attributes: ``cause``, ``n_competing``, ``variance`` ('crr' or 'robust'), ``information``
    (numpy array), ``baseline`` (DataFrame ``[stratum,] time, jump, cumhaz`` at covariates 0, as crr's
    ``bfitj``), ``strata`` (column(s) or None).
    """

    cause: int = 1
    n_competing: int = 0
    variance: str = "crr"
    information: np.ndarray | None = field(default=None, repr=False)
    baseline: pd.DataFrame | None = field(default=None, repr=False)
    strata: str | tuple[str, ...] | None = None
    time_varying: tuple[str, ...] = ()

    def _title(self) -> str:
        return f"Fine-Gray subdistribution hazards (cause {self.cause}, variance {self.variance!r})"

    def predict_cif(self, profile, stratum=None) -> pd.DataFrame:
        """Cumulative incidence of the cause for one covariate profile (as ``predict.crr``).

        CIF(t | z) = 1 - exp(-exp(z'beta) * Lambda0(t)), at every distinct failure time of the cause.
        ``profile`` gives a value for every term (dict/Series keyed by term, or a sequence in term
        order), or is a one-row DataFrame of input covariate columns (coded by ``design``). A
        stratified model needs ``stratum`` (a level of the strata column, or ``'a=1, b=x'`` for several).
        """
        if self.time_varying:
            raise ModelInputError("predict_cif is not available for a model with time-varying terms")
        if isinstance(profile, pd.DataFrame):
            if len(profile) != 1 or self.design is None:
                raise ModelInputError("give a one-row DataFrame of the model's covariate columns")
            z = self.design.matrix(profile)[0]
        elif isinstance(profile, dict | pd.Series):
            missing = [t for t in self.coef.index if t not in profile]
            if missing:
                raise ModelInputError(f"profile lacks a value for term(s) {missing}")
            z = np.array([float(profile[t]) for t in self.coef.index])
        else:
            z = np.asarray(profile, dtype=float)
            if z.shape != (len(self.coef),):
                raise ModelInputError(f"profile must have {len(self.coef)} values, in the order {list(self.coef.index)}")
        lp = float(z @ self.coef.to_numpy())
        base = self.baseline
        if self.strata is not None:
            if stratum is None or stratum not in set(base["stratum"]):
                raise ModelInputError(f"give stratum=, one of {sorted(set(base['stratum']), key=str)}")
            base = base[base["stratum"] == stratum]
        cif = 1.0 - np.exp(-np.exp(lp) * base["cumhaz"].to_numpy())
        return pd.DataFrame({"time": base["time"].to_numpy(), "cif": cif})


@dataclass(frozen=True)
class _FGData:
    """Validated, time-sorted input of one fit (private)."""

    sub: pd.DataFrame  # kept rows, input order
    order: np.ndarray  # sort permutation of the kept rows
    time: np.ndarray  # sorted
    status: np.ndarray  # sorted, 0/1/2
    X: np.ndarray  # sorted, centred, column-major
    means: np.ndarray
    spec: DesignSpec
    notes: list
    n_events: int
    n_competing: int


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
    gtol : float
        crr's gradient tolerance (variance="crr": crr's Newton path and stopping rule).
    max_iter : int
        Maximum Newton-Raphson iterations (crr's ``maxiter``, default 25).
    eps : float
        Scale-free convergence tolerance: variance="crr" also requires the Newton decrement to be at
        most ``eps * |loglik|``; variance="robust" iterates as coxph, until the relative change of the
        log-likelihood is at most ``eps``.
    competing : list of int, optional
        Competing event codes; see :class:`~cohortstat.models.CoxPH` for the event-coding check.

    Notes
    -----
    The convergence test is scale-free: a covariate multiplied by 1e-5 gives its coefficient
    multiplied by 1e5 (crr's gradient test alone would stop at the starting point, 0). An estimate running
    to infinity (no event in a group, a separating covariate) is detected as coxph does: a note, a
    :class:`~cohortstat.errors.ConvergenceWarning` and the term listed in ``result.infinite``.

    References
    ----------
    Fine JP, Gray RJ (1999). JASA 94:496-509. Kawaguchi ES et al. (2021). JCGS 30:685-693.
    Therneau T, Crowson C, Atkinson E. Multi-state models and competing risks (survival vignette).
    """

    def __init__(self, cause: int = 1, variance: Literal["crr", "robust"] = "crr",
                 gtol: float = 1e-6, max_iter: int = 25, *, eps: float = EPS,
                 competing: Sequence[int] | None = None):
        if variance not in ("crr", "robust"):
            raise ModelInputError(f"variance must be 'crr' or 'robust', got {variance!r}")
        if not isinstance(cause, int | np.integer) or cause < 1:
            raise ModelInputError(f"cause must be a positive integer event code, got {cause!r}")
        if max_iter < 0 or eps <= 0:
            raise ModelInputError("max_iter must be >= 0 and eps > 0")
        self.cause = int(cause)
        self.variance = variance
        self.gtol = float(gtol)
        self.max_iter = int(max_iter)
        self.eps = float(eps)
        self.competing = check_competing(competing)

    def __repr__(self) -> str:
        return f"FineGray(cause={self.cause}, variance={self.variance!r})"

    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame, *, weights: str | None = None,
                     cluster: str | None = None, cengroup: str | None = None, missing: str = "drop",
                     **options) -> FineGrayResult:
        """Fit from an R-style formula: ``"Crr(time, status, cause=1) ~ exposure + bs(age, df=3)"``.

        ``Crr(time, status, cause=k)`` names the cause (``Surv(time, status)`` uses ``options['cause']``,
        default 1); the right-hand side is expanded by formulaic as for :meth:`CoxPH.from_formula`.
        ``options`` go to :class:`FineGray` (``variance``, ``max_iter``, ...).
        """
        from dataclasses import replace

        from .formula import build, strata_option

        pf, frame, design, notes = build(formula, data, missing, extra=[weights, cluster, cengroup])
        if pf.strata:
            options.setdefault("variance", "robust")
        if pf.cause is not None:
            options["cause"] = pf.cause
        if pf.entry is not None or pf.offset is not None:
            raise ModelInputError("FineGray has no entry time nor offset; use Crr(time, status, cause=1) ~ covariates")
        res = cls(**options).fit(frame, pf.time, pf.event, list(design.terms), weights=weights,
                                 strata=strata_option(pf),
                                 cluster=cluster or pf.cluster, cengroup=cengroup, missing=missing)
        return replace(res, design=design, notes=tuple(notes) + res.notes)

    def fit(self, df: pd.DataFrame, duration: str, event: str, covariates: Sequence[str], *,
            strata: str | Sequence[str] | None = None, weights: str | None = None, cluster: str | None = None,
            entry: str | None = None, cengroup: str | None = None, time_varying: dict | None = None,
            missing: str = "drop") -> FineGrayResult:
        """Fit the model and return an immutable :class:`FineGrayResult`.

        Options after ``covariates`` are keyword-only, named and ordered as :meth:`CoxPH.fit`.
        ``weights``: finegray's user weights (variance="robust" only; crr has none). ``cluster``:
        robust only (default cluster is the subject). ``strata``: a column or list of columns,
        variance="robust" only: censoring distribution, baseline and risk sets by stratum, as R
        ``finegray(Surv(...) ~ . + strata(s))`` + ``coxph(... + strata(s), weights = fgwt)``.
        ``entry``: not supported (left truncation needs another weighting; raises). ``cengroup``
        (crr only): censoring distribution estimated by group. ``time_varying`` (crr only): a dict
        ``{column: tf}`` adding the term ``column:tf(t)`` whose design at time t is ``x * tf(t)``
        (crr's ``cov2``/``tf``), tf being 'log', 'identity' or a function of an array of times; the
        column need not be among ``covariates``. ``missing``: 'drop' (default, with a note) or
        'raise', as every model.
        """
        self._check_options(strata, weights, cluster, entry, cengroup)
        tv = dict(time_varying or {})
        if tv and self.variance != "crr":
            raise ModelInputError("time_varying= is crr's cov2/tf: use FineGray(variance='crr')")
        d = self._prepare(df, duration, event, covariates, [weights, cluster, cengroup, *as_list(strata), *tv],
                          missing)
        if self.variance == "robust":
            from cohortstat.models._fg_robust import finegray_robust_fit

            return finegray_robust_fit(self, d, weights, cluster, strata)
        if cengroup is not None:
            levels, gcode = np.unique(d.sub[cengroup].to_numpy()[d.order].astype(str), return_inverse=True)
            ncg = levels.size
        else:
            gcode, ncg = np.zeros(d.time.size, dtype=np.int64), 1
        setup = fg_setup(d.time, d.status, gcode, ncg)
        if tv:
            from cohortstat.models._fg_tv import finegray_tv_fit

            return finegray_tv_fit(self, d, setup, tv)
        nr = newton_crr(setup, d.X, self.gtol, self.max_iter, self.eps)
        inv = information_inverse(nr.ev.info)
        infinite = self.convergence_notes(nr, inv, d.spec.terms, d.notes, self.refine_crr(setup, d.X))
        meat = crr_variance_meat(setup, d.X, nr.ev)
        var = inv @ meat @ inv.T
        var = (var + var.T) / 2
        return self.result(d, setup, nr, var, None, infinite)

    def _check_options(self, strata, weights, cluster, entry, cengroup) -> None:
        if entry is not None:
            raise ModelInputError("entry= (left truncation) is not supported by FineGray; fit on rows followed "
                                  "from time 0, or use a cause-specific CoxPH with entry=")
        if strata is not None and self.variance == "crr":
            raise ModelInputError("strata= needs FineGray(variance='robust') (R finegray + coxph(strata)); "
                                  "crr's own option is cengroup= (censoring distribution by group)")
        if self.variance == "crr":
            for name, val in (("weights", weights), ("cluster", cluster)):
                if val is not None:
                    raise ModelInputError(
                        f"{name}= is not defined for crr's estimator and variance; use "
                        f"FineGray(variance='robust') for {name}, or drop it")
        elif cengroup is not None:
            raise ModelInputError("cengroup= is crr's option; with variance='robust' use strata=")

    def _prepare(self, df, duration, event, covariates, extra, missing) -> _FGData:
        used = check_roles(df, covariate=covariates, survival=[duration, event], other=[e for e in extra if e])
        keep, note = complete_rows(df, used, missing)
        sub = df if keep is None else df.loc[keep]
        notes = [] if note is None else [note]
        spec = DesignSpec.from_frame(sub, covariates, missing)
        t, ecode, _, _ = survival_arrays(sub, duration, event)
        status = event_status(ecode, event, self.cause, self.competing)
        n_events = int((status == 1).sum())
        if n_events == 0:
            raise ModelInputError(f"no event of cause {self.cause} in the data; check cause= and event codes")
        order = np.argsort(t, kind="stable")
        X = sorted_columns(spec.matrix(sub), order)
        means = X.mean(axis=0)
        X -= means  # centring leaves the partial likelihood and crr's variance unchanged
        return _FGData(sub, order, t[order], status[order], X, means, spec, notes,
                       n_events, int((status == 2).sum()))

    def convergence_notes(self, nr: FGNewtonResult, inv: np.ndarray, terms, notes: list,
                          refine=None) -> tuple[str, ...]:
        """coxph's two warnings: iterations ran out, or loglik converged before a variable.

        coxph's test for a coefficient running to infinity (the Newton step still left is large
        against the coefficient) assumes coxph's convergence (log-likelihood change <= eps). crr's
        gradient rule stops earlier, where a step of ~1e-6 may remain: on ordinary data that step can
        exceed ``sqrt(eps) |beta|`` for a coefficient near 0. With ``refine`` (crr's path), a flagged
        fit is therefore re-tested after Newton steps from its estimate to coxph's convergence
        (``refine(nr) -> (score, inverse information, beta)``; the estimate reported stays crr's): a
        finite optimum then leaves a step of ~1e-12, a coefficient running away one of order 1.
        """
        if not nr.converged and self.max_iter > 0:
            msg = f"Ran out of iterations ({self.max_iter}) and did not converge"
            notes.append(msg)
            warnings.warn(msg + "; a coefficient may be infinite - inspect events per covariate level",
                          ConvergenceWarning, stacklevel=3)
            return ()
        if self.max_iter > 1:
            flag = self._runaway(nr.ev.score, inv, nr.beta)
            if flag.any() and refine is not None:
                flag = self._runaway(*refine(nr))
            if flag.any():
                bad = tuple(terms[i] for i in np.flatnonzero(flag))
                msg = (f"Loglik converged before variable {', '.join(bad)}; coefficient may be infinite "
                       "(monotone likelihood: check for a level with no events or complete separation)")
                notes.append(msg)
                warnings.warn(msg, ConvergenceWarning, stacklevel=3)
                return bad
        return ()

    def _runaway(self, score: np.ndarray, inv: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """coxph's flag: the remaining Newton step exceeds both eps and sqrt(eps) |beta|."""
        infs = np.abs(score @ inv)
        return ~np.isfinite(score) | ((infs > self.eps) & (infs > TOLER_INF * np.abs(beta)))

    def refine_crr(self, setup, X) -> Callable:
        """For :meth:`convergence_notes`: Newton steps from crr's estimate to coxph's convergence."""

        def refine(nr: FGNewtonResult):
            more = newton_fg(setup, X, self.max_iter, self.eps, beta0=nr.beta)
            try:
                return more.ev.score, np.linalg.inv(more.ev.info), more.beta
            except np.linalg.LinAlgError:
                return nr.ev.score, information_inverse(nr.ev.info), nr.beta

        return refine

    def result(self, d: _FGData, setup, nr: FGNewtonResult, var, robust_var, infinite, baseline=None,
               strata=None, terms=None) -> FineGrayResult:
        terms = d.spec.terms if terms is None else terms
        beta = nr.beta
        p = beta.size
        u0 = nr.ev0.score
        try:
            sc = float(u0 @ np.linalg.solve(nr.ev0.info, u0))
        except np.linalg.LinAlgError:
            sc = np.nan
        vw = var if robust_var is None else robust_var
        wald = float(beta @ np.linalg.solve(vw, beta))
        if baseline is None:
            with np.errstate(over="ignore"):  # infinite when a coefficient ran away (flagged above)
                jumps = setup.d / nr.ev.S0 * np.exp(-(d.means @ beta))  # baseline at covariates 0 (uncentred)
            baseline = pd.DataFrame({"time": setup.uft, "jump": jumps, "cumhaz": np.cumsum(jumps)})
        return FineGrayResult(
            coef=frozen_series(beta, terms, "coef"), se=frozen_series(np.sqrt(np.diag(var)), terms, "se"),
            robust_se=None if robust_var is None else frozen_series(np.sqrt(np.diag(robust_var)), terms, "robust_se"),
            var=var, robust_var=robust_var, loglik_null=nr.ev0.loglik, loglik=nr.ev.loglik, n=int(d.time.size),
            n_events=d.n_events, iterations=nr.iterations, converged=nr.converged, notes=tuple(d.notes),
            wald_test=chisq_test(wald, p, "Wald"), score_test=chisq_test(sc, p, "score"),
            lr_test=chisq_test(2.0 * (nr.ev.loglik - nr.ev0.loglik), p, "likelihood ratio"),
            design=d.spec, infinite=infinite, cause=self.cause, n_competing=d.n_competing,
            variance=self.variance, information=nr.ev.info, baseline=baseline, time_varying=tuple(terms[len(d.spec.terms):]),
            strata=None if strata is None else (strata if isinstance(strata, str) else tuple(strata)))


def sorted_columns(X: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``X[order]`` column-major (as the Cox design): each column gathered on its own (a row gather of a
    column-major matrix reads p scattered cache lines per row, ~5x slower at 1 M x 20)."""
    out = np.empty(X.shape, order="F")
    for j in range(X.shape[1]):
        np.take(X[:, j], order, out=out[:, j])
    return out


def information_inverse(info: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(info)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError("the information matrix is singular: remove collinear or constant covariates") from exc
