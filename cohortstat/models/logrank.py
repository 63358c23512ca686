"""Log-rank and G-rho K-sample tests of equal survival, stratified, with delayed entry (R ``survdiff``).

Semantic choices (see docs/methods-nonparametric.md):
- the G-rho weight at t is S(t-)^rho, S the pooled Kaplan-Meier of the stratum (Harrington & Fleming
  1982): rho = 0 is the log-rank test, rho = 1 the Peto & Peto modification of the Gehan-Wilcoxon test;
- observed and expected counts are weighted by it, as ``survdiff`` reports them;
- strata: observed, expected and variance are summed over strata; the chi-square drops the groups whose
  expected count is 0 and then the first remaining group, as ``survdiff``;
- ``entry`` (delayed entry) uses the risk sets {entry < t <= time}; ``survdiff`` has no delayed entry,
  so with rho = 0 and no tied times this equals the score test of ``coxph(Surv(entry, time, event) ~
  group)``, which is how it is checked;
- no case weights (``survdiff`` has none).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cohortstat.errors import ModelInputError
from cohortstat.models._kernels.logrank_kernel import grho_stratum
from cohortstat.models._np_input import codes, group_masks, strata_codes, survival_input
from cohortstat.models._results import TestResult, chisq_test


def _frozen(a, dtype=float) -> np.ndarray:
    a = np.array(a, dtype=dtype)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class LogrankResult(TestResult):
    """A :class:`TestResult` (chi-square ``stat``, ``df``, ``p``) with the per-group counts of ``survdiff``.

    Attributes
    ----------
    groups : tuple of the group levels, in the order of the arrays.
    n : rows per group. observed, expected : (weighted) observed and expected events per group,
        summed over strata. var : covariance matrix of observed - expected (read-only arrays).
    rho : the G-rho exponent. n_strata : number of strata. notes : what happened to the data.
    """

    groups: tuple = ()
    n: np.ndarray = field(default=None, repr=False)
    observed: np.ndarray = field(default=None, repr=False)
    expected: np.ndarray = field(default=None, repr=False)
    var: np.ndarray = field(default=None, repr=False)
    rho: float = 0.0
    n_strata: int = 1
    notes: tuple[str, ...] = ()

    @property
    def test(self) -> TestResult:
        """The bare chi-square test."""
        return TestResult(self.stat, self.df, self.p)

    def table(self) -> pd.DataFrame:
        """One row per group: ``group, n, observed, expected, (O-E)^2/E, (O-E)^2/V`` (R's print)."""
        oe = self.observed - self.expected
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame({
                "group": list(self.groups),
                "n": self.n,
                "observed": self.observed,
                "expected": self.expected,
                "(O-E)^2/E": oe**2 / self.expected,
                "(O-E)^2/V": oe**2 / np.diag(self.var),
            })


def _chisq(observed, expected, var) -> tuple[float, int, tuple[str, ...]]:
    """survdiff's statistic: groups with expected > 0, minus the first of them."""
    keep = np.flatnonzero(expected > 0)
    df = keep.size - 1
    if keep.size < 2:
        return 0.0, max(df, 0), ("fewer than two groups have expected events: chi-square set to 0",)
    idx = keep[1:]
    diff = (observed - expected)[idx]
    vv = var[np.ix_(idx, idx)]
    try:
        return float(diff @ np.linalg.solve(vv, diff)), df, ()
    except np.linalg.LinAlgError:
        return float(diff @ np.linalg.pinv(vv) @ diff), df, ("singular variance: generalized inverse used",)


def logrank_test(df: pd.DataFrame, duration: str, event: str, group: str, *,
                 strata: str | list[str] | None = None, rho: float = 0.0, entry: str | None = None,
                 cause: int | None = None, missing: str = "drop") -> LogrankResult:
    """K-sample log-rank (rho = 0) or G-rho test of equal survival across ``group`` (R ``survdiff``).

    Parameters
    ----------
    df : DataFrame, one row per subject.
    duration, event : exit time and event code. Any positive code is an event unless ``cause`` is
        given: then only that code is an event and other causes are censored (cause-specific test).
    group : column whose levels are compared (category order for a Categorical, else sorted).
    strata : optional column name or list of names; the test is stratified (``+ strata(...)``).
    rho : G-rho exponent: weights S(t-)^rho with S the pooled Kaplan-Meier (``survdiff(rho=)``);
        0 log-rank, 1 Peto-Peto.
    entry : optional delayed-entry column; at risk on ``(entry, duration]``.
    missing : "drop" (default, with a :class:`~cohortstat.errors.DataCheckWarning`) or "raise".

    Returns
    -------
    LogrankResult : a TestResult (stat, df, p) with ``observed``, ``expected``, ``var`` and ``table()``.

    References
    ----------
    Mantel N (1966). Cancer Chemother Rep 50:163-170. Peto R, Peto J (1972). JRSS A 135:185-207.
    Harrington DP, Fleming TR (1982). A class of rank test procedures for censored survival data.
    Biometrika 69:553-566.
    """
    if not np.isfinite(rho):
        raise ModelInputError(f"rho must be a finite number, got {rho!r}")
    names = [strata] if isinstance(strata, str) else list(strata or [])
    data, sub = survival_input(df, duration, event, entry=entry, extra=[group, *names], missing=missing,
                               caller="logrank_test")
    levels = [lev for lev, _ in group_masks(sub, group)]
    if len(levels) < 2:
        raise ModelInputError(f"logrank_test needs at least two groups in {group!r}; found {levels}")
    g = codes(sub, group)
    ev = (data.event > 0) if cause is None else (data.event == cause)
    s = strata_codes(sub, strata)
    ng = len(levels)
    obs, exp, var = np.zeros(ng), np.zeros(ng), np.zeros((ng, ng))
    for k in np.unique(s):
        m = s == k
        o, e, v = grho_stratum(data.time[m], ev[m].astype(np.int8), g[m], ng, float(rho),
                               None if data.entry is None else data.entry[m])
        obs, exp, var = obs + o, exp + e, var + v
    stat, dof, notes = _chisq(obs, exp, var)
    if data.n_dropped:
        notes = (f"{data.n_dropped} rows with missing values dropped",) + notes
    t = chisq_test(stat, dof) if dof > 0 else TestResult(stat, dof, float("nan"))
    return LogrankResult(stat=t.stat, df=t.df, p=t.p, groups=tuple(levels),
                         n=_frozen(np.bincount(g, minlength=ng), np.int64), observed=_frozen(obs),
                         expected=_frozen(exp), var=_frozen(var), rho=float(rho),
                         n_strata=int(np.unique(s).size), notes=notes)
