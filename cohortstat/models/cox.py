"""Cox proportional hazards regression (cause-specific), equal to R ``survival::coxph``.

The estimator validates its input and calls the array kernels of
:mod:`cohortstat.models._kernels.cox_kernel`; ``fit`` returns a new immutable
:class:`CoxResult`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from cohortstat.errors import ConvergenceWarning, ModelInputError

from ._design import (
    Design,
    check_competing,
    check_gram,
    codes,
    numeric_column,
    design_matrix,
    event_status,
    strata_codes,
    survival_arrays,
)
from ._kernels import cox_kernel as K
from ._kernels.cox_newton import newton
from ._results import RegressionResult, TestResult, chisq_test, frozen_series
from .design import DesignSpec, check_roles, complete_rows


@cache
def _blas_pools() -> ThreadpoolController:
    """The BLAS thread pools of this process, found once (``.limit()`` then costs microseconds)."""
    return ThreadpoolController()


EPS = 1e-9  # R coxph.control eps
TOLER_INF = np.sqrt(EPS)  # R coxph.control toler.inf


@dataclass(frozen=True)
class _CoxFitData:
    """Arrays kept by a result for residuals, baseline hazard and the PH test (private)."""

    rs: K.RiskSets
    X: np.ndarray  # centred design
    center: np.ndarray
    w: np.ndarray
    status: np.ndarray
    time: np.ndarray
    entry: np.ndarray | None
    strata: np.ndarray
    strata_levels: tuple
    term_columns: dict
    state: K.KernelState
    efron: bool
    offset_mean: float = 0.0  # mean of the offset removed before fitting
    offset_name: str | None = None
    offset: np.ndarray | None = None  # centred offset


@dataclass(frozen=True)
class _Options:
    """The options of one :meth:`CoxPH.fit` besides the covariates (private)."""

    strata: str | Sequence[str] | None = None
    weights: str | None = None
    cluster: str | None = None
    entry: str | None = None
    robust: bool = False
    offset: str | None = None
    missing: str = "drop"


@dataclass(frozen=True)
class _Rows:
    """The complete rows of a fit and what :meth:`CoxPH.fit` builds from them before the design (private)."""

    sub: pd.DataFrame
    keep: np.ndarray | None  # complete_rows' mask (None: every row)
    note: str | None  # complete_rows' note
    notes: tuple[str, ...]
    t: np.ndarray
    en: np.ndarray | None
    w: np.ndarray
    status: np.ndarray
    n_events: int
    scode: np.ndarray
    slev: tuple
    snames: tuple[str, ...] | None
    rs: K.RiskSets

    def same_rows(self, keep: np.ndarray | None, note: str | None) -> bool:
        """Whether complete_rows' answer ``(keep, note)`` for another fit on the same frame is this one's."""
        if note != self.note or (keep is None) != (self.keep is None):
            return False
        return keep is None or bool(np.array_equal(keep, self.keep))


def _design_reusing(sub: pd.DataFrame, spec: DesignSpec, w: np.ndarray, earlier: Design | None) -> Design:
    """``design_matrix(sub, spec, w)``, the columns of a covariate coded alike in ``earlier`` (a design of
    the same rows and weights, or None) copied from it: design_matrix codes and centres each column
    on its own, so the copy is the column it would build."""
    if earlier is None:
        return design_matrix(sub, spec, w)
    done = {c: earlier.term_columns[c.name] for c in earlier.spec.columns}
    todo = [c for c in spec.columns if c not in done]
    fresh = design_matrix(sub, DesignSpec(tuple(todo), spec.missing), w) if todo else None
    X = np.empty((len(sub), len(spec.terms)), order="F")
    center, absmax = np.empty(X.shape[1]), np.empty(X.shape[1])
    for c in spec.columns:
        src, cols = (earlier, list(done[c])) if c in done else (fresh, list(fresh.term_columns[c.name]))
        to = list(spec.term_columns[c.name])
        X[:, to], center[to], absmax[to] = src.X[:, cols], src.center[cols], src.absmax[cols]
    return Design(X=X, terms=spec.terms, term_columns=spec.term_columns, center=center, absmax=absmax, spec=spec)


@dataclass(frozen=True)
class CoxResult(RegressionResult):
    """Result of :meth:`CoxPH.fit` (frozen). See :class:`RegressionResult` for the attributes.

    Extra attributes: ``ties`` ('efron' or 'breslow'), ``strata`` (column, tuple of columns or None).
    """

    ties: str = "efron"
    strata: str | tuple[str, ...] | None = None
    _data: _CoxFitData | None = field(default=None, repr=False, compare=False)

    def _title(self) -> str:
        return f"Cox proportional hazards ({self.ties} ties{', strata ' + str(self.strata) if self.strata else ''})"

    def _lr_test(self, terms) -> TestResult:
        """Likelihood-ratio test of ``terms`` = 0: the model without them refitted on the same risk sets."""
        d = self._data
        idx = self._select_terms(terms)
        keep = [j for j in range(len(self.terms)) if j not in idx]
        if keep:
            Xr = np.asfortranarray(d.X[:, keep])
            with _blas_pools().limit(limits=1, user_api="blas"):
                nr = newton(d.rs, Xr, d.w, np.zeros(len(keep)), 50, EPS, offset=d.offset)
            ll0 = nr.state.loglik
        else:
            ll0 = self.loglik_null
        label = terms if isinstance(terms, str) else ", ".join(terms)
        return chisq_test(2.0 * (self.loglik - ll0), len(idx), name=f"likelihood-ratio test of {label}")

    def ph_test(self, transform: str = "km") -> pd.DataFrame:
        """Score test of proportional hazards per covariate and GLOBAL (R ``cox.zph``); see
        :func:`cohortstat.models.ph_test`."""
        from .ph_test import ph_test

        return ph_test(self, transform=transform)

    # -- residuals --------------------------------------------------------------------------
    def score_residuals(self) -> pd.DataFrame:
        """Score residuals per row (R ``residuals(fit, type="score")``), input row order."""
        d = self._data
        L = K.score_residuals(d.rs, d.X, d.w, d.state.eta, d.state.denom, d.state.xbar)
        return pd.DataFrame(L, columns=list(self.terms))

    def dfbeta(self) -> pd.DataFrame:
        """Weighted dfbeta residuals ``w_i L_i V`` (R ``residuals(fit, "dfbeta", weighted=TRUE)``)."""
        d = self._data
        L = K.score_residuals(d.rs, d.X, d.w, d.state.eta, d.state.denom, d.state.xbar)
        return pd.DataFrame((L * d.w[:, None]) @ self.var, columns=list(self.terms))

    def schoenfeld_residuals(self) -> pd.DataFrame:
        """Schoenfeld residuals, one row per event, ordered by stratum then time.

        Columns: ``row`` (input row), ``time``, then one per term (R ``residuals(fit,
        "schoenfeld")``; for Efron ties a death's expected value is the mean of the k-th
        fractional-denominator means of its tied group).
        """
        d = self._data
        S = K.schoenfeld(d.rs, d.X, d.state.xbar)
        rows = d.rs.death_rows
        out = pd.DataFrame(S, columns=list(self.terms))
        out.insert(0, "time", d.time[rows])
        out.insert(0, "row", rows)
        return out

    # -- baseline hazard and predictions ----------------------------------------------------------
    def baseline_hazard(self, centered: bool = False, type: str | None = None) -> pd.DataFrame:
        """Cumulative baseline hazard at the event times (per stratum): ``[stratum,] time, increment, cumhaz``.

        ``centered=False`` gives it at covariates 0 (R ``basehaz(fit, centered=FALSE)``);
        ``centered=True`` at the (weighted) covariate means. With an offset, both are at the
        mean offset, as R's ``basehaz``/``survfit.coxph``. ``type``: 'efron' (increment of a tied
        group ``sum_k wbar / (S0 - k/d D0)``) or 'breslow' (``sum w / S0``); default that of the
        fit's ties, as R's ``survfit.coxph`` (``ctype``).
        """
        from .cox_predict import baseline_hazard

        return baseline_hazard(self, centered, type)

    def predict_survival(self, profiles: pd.DataFrame, *, type: str | None = None, level: float = 0.95,
                         conf_type: str = "log") -> pd.DataFrame:
        """Predicted survival curves for covariate profiles, with standard errors (R ``survfit(fit, newdata)``).

        Parameters
        ----------
        profiles : DataFrame with the model's covariate columns (raw values, coded as in the fit),
            plus the strata columns of a stratified model and the offset column of a model with one.
        type : 'efron' or 'breslow' hazard increments (default: the fit's ties, as R).
        level, conf_type : confidence level and scale ('log' as R's default, 'log-log', 'plain').

        Returns
        -------
        DataFrame ``profile, [stratum,] time, cumhaz, se_cumhaz, survival, se_survival, lower, upper``,
        one row per profile and event time of its stratum (``profile`` is the profile's index).
        """
        from .cox_predict import predict_survival

        return predict_survival(self, profiles, type, level, conf_type)

    def adjusted_survival(self, df: pd.DataFrame, column: str, levels: Sequence | None = None) -> pd.DataFrame:
        """Direct-adjusted (marginal) survival curves per level of ``column``.

        For each level ``g`` every row of ``df`` is given ``column = g`` and the curve is the
        mean over rows of ``exp(-Lambda0(t) exp(x_i' beta))`` (baseline of the fit's ties type; unstratified
        models only). Returns columns ``group, time, survival``.

        References
        ----------
        Makuch RW (1982). Adjusted survival curve estimation using covariates. J Chronic Dis 35:437-443.
        """
        if self.strata is not None:
            raise ModelInputError("adjusted_survival needs an unstratified model; refit without strata=")
        base = self.baseline_hazard(centered=False)
        cov = list(self.design.names)
        if column not in cov:
            raise ModelInputError(f"{column!r} is not a covariate of the model; choose one of {cov}")
        levels = sorted(pd.unique(df[column]).tolist()) if levels is None else list(levels)
        out = []
        for g in levels:
            df2 = df[cov].copy()
            df2[column] = pd.Series([g] * len(df2), index=df2.index, dtype=df[column].dtype)
            risk = np.exp(self.design.matrix(df2) @ self.coef.to_numpy())
            surv = np.exp(-np.outer(base["cumhaz"].to_numpy(), risk)).mean(axis=1)
            out.append(pd.DataFrame({"group": g, "time": base["time"].to_numpy(), "survival": surv}))
        return pd.concat(out, ignore_index=True)


class CoxPH:
    """Cox proportional hazards model (cause-specific for competing-risk event codes).

    Parameters
    ----------
    ties : {'efron', 'breslow'}
        Handling of tied event times (R ``coxph(ties=)``).
    cause : int
        Event code modelled; other positive codes are censored (cause-specific hazard).
    iter_max : int
        Maximum Newton-Raphson iterations (R ``coxph.control(iter.max=20)``).
    eps : float
        Convergence tolerance on the relative change of the log-likelihood (R default 1e-9).
    competing : list of int, optional
        The event codes of competing events. By default every positive code other than ``cause``
        is one (censored in this cause-specific model), except that a column holding only the codes
        1 and 2 with no 0 is refused as R's 1 = censored / 2 = event coding; given explicitly, any
        code outside 0, ``cause`` and ``competing`` raises.

    Notes
    -----
    When the iterations run out (``iter_max``), the result holds the last estimate that improved
    the log-likelihood with that estimate's log-likelihood and variance, ``converged=False`` and
    ``iterations = iter_max + 1``, as R ``coxph`` reports.

    References
    ----------
    Cox DR (1972). Regression models and life-tables. JRSS B 34:187-220.
    Efron B (1977). The efficiency of Cox's likelihood function for censored data. JASA 72:557-565.
    Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards model. JASA 84:1074-1078.
    Therneau TM, Grambsch PM (2000). Modeling Survival Data: Extending the Cox Model. Springer.
    Therneau TM (2024). A Package for Survival Analysis in R (survival 3.x), coxph and coxph.fit.
    """

    def __init__(self, ties: Literal["efron", "breslow"] = "efron", cause: int = 1, iter_max: int = 20,
                 eps: float = EPS, *, competing: Sequence[int] | None = None):
        if ties not in ("efron", "breslow"):
            raise ModelInputError(f"ties must be 'efron' or 'breslow', got {ties!r}")
        if not isinstance(cause, (int, np.integer)) or cause < 1:
            raise ModelInputError(f"cause must be a positive integer event code, got {cause!r}")
        if iter_max < 0 or eps <= 0:
            raise ModelInputError("iter_max must be >= 0 and eps > 0")
        self.ties = ties
        self.cause = int(cause)
        self.iter_max = int(iter_max)
        self.eps = float(eps)
        self.competing = check_competing(competing)

    def __repr__(self) -> str:
        return f"CoxPH(ties={self.ties!r}, cause={self.cause})"

    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame, *, weights: str | None = None,
                     cluster: str | None = None, robust: bool = False, missing: str = "drop",
                     **options) -> CoxResult:
        """Fit from an R-style formula: ``"Surv(time, event) ~ exposure * age_band + C(sex) + strata(site)"``.

        The right-hand side is expanded by formulaic (see :mod:`cohortstat.models.formula`);
        ``strata(a, b)``, ``cluster(id)`` and ``offset(col)`` terms are the ``strata=``/``cluster=``/
        ``offset=`` options (``offset()`` takes a column name: compute ``log(x)`` beforehand);
        ``Surv(entry, time, event)`` gives ``entry=``. ``options`` go to :class:`CoxPH` (``ties``,
        ``cause``, ``iter_max``, ...). The result's ``design`` rebuilds the formula's design for new
        data and ``result.test("exposure:age_band")`` tests every column of a formula term.
        """
        from dataclasses import replace

        from .formula import build, strata_option

        pf, frame, design, notes = build(formula, data, missing, extra=[weights, cluster])
        if pf.kind != "Surv":
            raise ModelInputError("CoxPH formulas use Surv(time, event) on the left; Crr() is for FineGray")
        res = cls(**options).fit(frame, pf.time, pf.event, list(design.terms), strata=strata_option(pf),
                                 weights=weights, cluster=cluster or pf.cluster, entry=pf.entry, robust=robust,
                                 offset=pf.offset, missing=missing)
        return replace(res, design=design, notes=tuple(notes) + res.notes)

    def fit(
        self,
        df: pd.DataFrame,
        duration: str,
        event: str,
        covariates: Sequence[str],
        *,
        strata: str | Sequence[str] | None = None,
        weights: str | None = None,
        cluster: str | None = None,
        entry: str | None = None,
        robust: bool = False,
        offset: str | None = None,
        missing: str = "drop",
    ) -> CoxResult:
        """Fit the model and return an immutable :class:`CoxResult`.

        Parameters
        ----------
        df : pandas.DataFrame, one row per subject (or per (start, stop] interval with ``entry``).
        duration, event : exit time column and event-code column (0 censored, k = cause k).
        covariates : covariate columns, coded by :class:`~cohortstat.models.design.DesignSpec`
            (categorical ones dummy coded, terms ``column[level]``).
        strata : a column, or a list of columns whose combinations get separate baseline hazards
            (R ``strata(a, b)``). Keyword-only, as every option after ``covariates``.
        weights : case-weight column (> 0).
        cluster : column grouping rows for the robust (sandwich) variance; implies robust.
        entry : entry-time column: (entry, duration] counting-process data / delayed entry.
        robust : robust sandwich variance with each row its own cluster (R ``robust=TRUE``).
        offset : column added to the linear predictor with coefficient 1 (R ``offset()``), e.g.
            the log of a known exposure multiplier.
        missing : {'drop', 'raise'}: rows with a missing value in any used column are dropped
            with a note giving the count (R ``na.omit``), or raise.
        """
        o = _Options(strata, weights, cluster, entry, robust, offset, missing)
        rows, spec = self._prepare(df, duration, event, covariates, o)
        return self._fit_rows(rows, spec, design_matrix(rows.sub, spec, rows.w), o)

    def _fit_same_rows(self, df: pd.DataFrame, duration: str, event: str, covariate_sets: Sequence[Sequence[str]],
                       **options) -> list[CoxResult]:
        """:meth:`fit` of each list of ``covariate_sets`` in turn, with the same ``options`` (private).

        Equals ``[self.fit(df, duration, event, c, **options) for c in covariate_sets]`` to the last
        bit, with the same notes, warnings and errors (raised by the same fit). When a list leaves the
        same rows complete as the one before it, that fit's survival arrays and risk sets are reused,
        and so are the design columns of every covariate coded alike in both (same rows, weights and
        coding: the same columns, centred by the same weighted means).
        """
        o = _Options(**options)
        out, rows, des = [], None, None
        for covariates in covariate_sets:
            now, spec = self._prepare(df, duration, event, covariates, o, earlier=rows)
            des = _design_reusing(now.sub, spec, now.w, des if now is rows else None)
            rows = now
            out.append(self._fit_rows(rows, spec, des, o))
        return out

    def _prepare(self, df, duration, event, covariates, o: _Options, earlier: _Rows | None = None):
        """The checked rows of a fit (``earlier`` itself when they are the same rows) and the coding of its
        covariates, checked in :meth:`fit`'s order."""
        used = check_roles(df, covariate=covariates, survival=[duration, event, o.entry, o.weights], strata=o.strata,
                           cluster=o.cluster, offset=o.offset)
        keep, note = complete_rows(df, used, o.missing)
        if earlier is not None and earlier.same_rows(keep, note):
            return earlier, DesignSpec.from_frame(earlier.sub, covariates, o.missing)
        sub = df if keep is None else df.loc[keep]
        spec = DesignSpec.from_frame(sub, covariates, o.missing)
        return self._rows(sub, keep, note, duration, event, o), spec

    def _rows(self, sub, keep, note, duration, event, o: _Options) -> _Rows:
        """Survival arrays, event status, strata and risk sets of the complete rows ``sub``, with their notes."""
        notes = [] if note is None else [note]
        t, ecode, en, w = survival_arrays(sub, duration, event, entry=o.entry, weights=o.weights)
        status = (event_status(ecode, event, self.cause, self.competing) == 1).astype(np.int8)
        others = int(((ecode > 0) & (ecode != self.cause)).sum())
        if others:
            notes.append(f"{others} event(s) of other causes treated as censored (cause-specific hazard of cause {self.cause})")
        if o.weights is not None and not o.robust and o.cluster is None and (w != np.round(w)).any():
            notes.append("non-integer case weights with model-based variance; R coxph would default to "
                         "robust=TRUE here - pass robust=True for sandwich standard errors")
        n_events = int(status.sum())
        if n_events == 0:
            raise ModelInputError(
                f"no events of cause {self.cause} in column {event!r}; a Cox model needs at least one event"
            )
        if o.strata is not None:
            scode, nstrata, slev, snames = strata_codes(sub, o.strata)
            ev_per = np.bincount(scode, weights=status, minlength=nstrata)
            if (ev_per == 0).any():
                notes.append(f"{int((ev_per == 0).sum())} of {nstrata} strata have no events and add nothing to the likelihood")
        else:
            scode, slev, snames = np.zeros(len(sub), dtype=np.int64), (None,), None
        rs = K.build_risk_sets(t, status, w, scode, en, self.ties == "efron")
        return _Rows(sub, keep, note, tuple(notes), t, en, w, status, n_events, scode, slev, snames, rs)

    def _fit_rows(self, rows: _Rows, spec: DesignSpec, des, o: _Options) -> CoxResult:
        """Fit on prepared rows and design (the offset is read here, after the design, as R's order of checks)."""
        notes = list(rows.notes)
        off, off_mean = None, 0.0
        if o.offset is not None:
            off = numeric_column(rows.sub, o.offset, "offset")
            off_mean = float(off.mean())
            off = off - off_mean  # a constant shift leaves the partial likelihood unchanged
        nr = self._newton(rows.rs, des, rows.w, rows.status, o.strata is not None, off)
        var = _inverse(nr.state.info)
        infinite = self._convergence_notes(nr, var, list(spec.terms), notes)
        robust_var = None
        if o.robust or o.cluster is not None:
            robust_var = self._robust_var(rows.sub, rows.rs, des.X, rows.w, nr.state, var, o.cluster, notes)
        data = _CoxFitData(rs=rows.rs, X=des.X, center=des.center, w=rows.w, status=rows.status, time=rows.t,
                           entry=rows.en, strata=rows.scode, strata_levels=rows.slev, term_columns=spec.term_columns,
                           state=nr.state, efron=self.ties == "efron", offset_mean=off_mean, offset_name=o.offset,
                           offset=off)
        snames = rows.snames
        return self._result(nr, var, robust_var, spec, notes, infinite, len(rows.sub), rows.n_events,
                            strata=None if snames is None else (snames[0] if isinstance(o.strata, str) else snames),
                            data=data)

    def _newton(self, rs, des, w, status, stratified: bool, offset=None):
        X, absmax = des.X, des.absmax
        p = X.shape[1]
        deaths = K.deaths_of(rs, X, w)
        # The row loops are compiled and run on every core; the BLAS calls left between them are
        # small (p x p, groups x p), and BLAS threads left spinning after them would compete with
        # the compiled loops for the cores: BLAS runs on one thread here.
        with _blas_pools().limit(limits=1, user_api="blas"):
            state0 = K.evaluate(rs, X, w, np.zeros(p), deaths=deaths, offset=offset)
            check_gram(state0.info, des.terms, absmax ** 2 * float(w[status > 0].sum()),
                       "within the risk sets at the event times" + (" of each stratum" if stratified else ""))
            return newton(rs, X, w, np.zeros(p), self.iter_max, self.eps, state0=state0, deaths=deaths,
                          offset=offset)

    def _convergence_notes(self, nr, var, terms: list[str], notes: list[str]) -> tuple[str, ...]:
        """R coxph.fit's two warnings: iterations ran out, or loglik converged before a variable."""
        st, beta = nr.state, nr.beta
        if not nr.converged and self.iter_max > 0:
            msg = f"Ran out of iterations ({self.iter_max}) and did not converge"
            notes.append(msg)
            warnings.warn(msg + "; a coefficient may be infinite - inspect events per covariate level",
                          ConvergenceWarning, stacklevel=4)
            return ()
        if self.iter_max > 1:
            infs = np.abs(st.score @ var)
            flag = ~np.isfinite(st.score) | ((infs > self.eps) & (infs > TOLER_INF * np.abs(beta)))
            if flag.any():
                bad = tuple(terms[i] for i in np.flatnonzero(flag))
                msg = (f"Loglik converged before variable {', '.join(bad)}; coefficient may be infinite "
                       "(monotone likelihood: check for a level with no events or complete separation)")
                notes.append(msg)
                warnings.warn(msg, ConvergenceWarning, stacklevel=4)
                return bad
        return ()

    @staticmethod
    def _robust_var(df, rs, X, w, st, var, cluster, notes):
        p = X.shape[1]
        L = K.score_residuals(rs, X, w, st.eta, st.denom, st.xbar) * w[:, None]
        if cluster is not None:
            ccode, ncl = codes(df, cluster, "cluster")
            agg = np.empty((ncl, p))
            for j in range(p):
                agg[:, j] = np.bincount(ccode, weights=L[:, j], minlength=ncl)
            L = agg
            notes.append(f"robust variance clustered on {cluster!r} ({ncl} clusters)")
        D = L @ var
        return D.T @ D

    def _result(self, nr, var, robust_var, spec, notes, infinite, n, n_events, *, strata, data) -> CoxResult:
        beta, st = nr.beta, nr.state
        p = beta.shape[0]
        terms = spec.terms
        u0 = nr.score_init
        try:
            sc = float(u0 @ np.linalg.solve(nr.info_init, u0))
        except np.linalg.LinAlgError:
            sc = np.nan
        vw = var if robust_var is None else robust_var
        wald = float(beta @ np.linalg.solve(vw, beta))
        return CoxResult(
            coef=frozen_series(beta, terms, "coef"),
            se=frozen_series(np.sqrt(np.diag(var)), terms, "se"),
            robust_se=None if robust_var is None else frozen_series(np.sqrt(np.diag(robust_var)), terms, "robust_se"),
            var=var,
            robust_var=robust_var,
            loglik_null=nr.loglik_init,
            loglik=st.loglik,
            n=n,
            n_events=n_events,
            iterations=nr.iterations,
            converged=nr.converged,
            notes=tuple(notes),
            wald_test=chisq_test(wald, p, "Wald"),
            score_test=chisq_test(sc, p, "score"),
            lr_test=chisq_test(2.0 * (st.loglik - nr.loglik_init), p, "likelihood ratio"),
            design=spec,
            infinite=infinite,
            ties=self.ties,
            strata=strata,
            _data=data,
        )


def _inverse(info: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(info)
    except np.linalg.LinAlgError as exc:
        raise ModelInputError(
            "the information matrix is singular; a covariate has no variation within the risk sets - "
            "remove it or coarsen strata"
        ) from exc
