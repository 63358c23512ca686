"""Confounding control of a study: propensity-score matching or weighting, with balance diagnostics.

``adjust_for_confounding(table, study)`` reads ``study.analyses.confounding`` and the covariates the study
declares, fits the propensity score, then

- ``method="matching"``: matches exposed to reference patients (:func:`cohortstat.models.matching.match`
  on the logit of the propensity score, within the caliper, exact on the declared variables) and returns
  the matched rows with ``matched_set``, ``weight`` (matching weights, 1 when every set is complete)
  and ``ps`` columns, plus an attrition row "matching";
- ``method="iptw"`` / ``"overlap"``: returns every row with ``weight`` and ``ps`` columns;
- ``method="none"``: returns the table unchanged with the balance before adjustment only.

Recommended analyses on the result (see docs/methods-confounding.md)::

    res = adjust_for_confounding(cohort.table, study)
    # matching: Cox stratified on the matched set (conditional on the set, as CohortMethod does) ...
    CoxPH().fit(res.table, duration="time_lung", event="event_lung", covariates=["exposure"],
                strata="matched_set")
    # ... or marginal Cox / Fine-Gray with variance clustered on the matched set
    CoxPH().fit(res.table, duration=..., event=..., covariates=["exposure"], cluster="matched_set")
    FineGray(variance="robust").fit(res.table, duration=..., event=..., covariates=["exposure"],
                                    cluster="matched_set")
    # weighting: weights with robust (sandwich) variance
    CoxPH().fit(res.table, duration=..., event=..., covariates=["exposure"], weights="weight", robust=True)

Rows are put in a canonical order (the seeded hash order of the person key,
:func:`cohortstat.models.matching.canonical_rank`) before the propensity score is fitted, so every output
is independent of the order of the input rows. The matched table is sorted by matched set (exposed
person first), the weighted table keeps the canonical order.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from cohortstat.errors import BalanceWarning, ModelInputError, SpecError
from cohortstat.models.matching import MatchResult, canonical_rank, match
from cohortstat.models.weighting import (
    PropensityScore,
    iptw_weights,
    overlap_weights,
    propensity_score,
    standardized_differences,
)

__all__ = ["ConfoundingResult", "adjust_for_confounding", "covariate_columns", "BALANCE_THRESHOLD"]

#: |SMD| above which a covariate is reported as imbalanced (Austin 2009).
BALANCE_THRESHOLD = 0.1
#: Exact-matching names that are always available; flag names may be used too. ``age`` means age
#: in bands of ``age_band_years`` (``age_band`` is accepted as an alias).
EXACT_VARIABLES = ("age", "sex", "calendar_year", "charlson")
_PREFERENCE_BINS = 20


@dataclass(frozen=True, eq=False)
class ConfoundingResult:
    """Result of :func:`adjust_for_confounding` (immutable).

    Attributes
    ----------
    method : str
        ``none``, ``iptw``, ``overlap`` or ``matching``.
    table : pandas.DataFrame
        The analysis table to fit outcome models on (see module docstring for the added columns).
    balance : pandas.DataFrame
        ``covariate, kind, mean_treated_before, mean_control_before, smd_before, mean_treated_after,
        mean_control_after, smd_after`` (the *after* columns are NaN for ``method="none"``).
    ps_coef : pandas.DataFrame or None
        Propensity-model coefficients: ``term, coef, se, z, p, odds_ratio``.
    preference : pandas.DataFrame or None
        Preference-score histogram: ``sample`` (``all``, or ``matched``), ``group``, ``bin_lower``,
        ``bin_upper``, ``n`` (persons in the bin), ``proportion`` (of the group in that sample).
    attrition_rows : list of dict
        ``rule_id, description, n_<group>..., excluded_<group>...`` (one row, "matching", when matching).
    notes : tuple of str
    propensity : PropensityScore or None
    matching : MatchResult or None
    """

    method: str
    table: pd.DataFrame = field(repr=False)
    balance: pd.DataFrame = field(repr=False)
    ps_coef: pd.DataFrame | None = field(repr=False)
    preference: pd.DataFrame | None = field(repr=False)
    attrition_rows: list = field(repr=False)
    notes: tuple[str, ...] = ()
    propensity: PropensityScore | None = field(default=None, repr=False)
    matching: MatchResult | None = field(default=None, repr=False)

    @property
    def imbalanced(self) -> tuple[str, ...]:
        """Covariates with |SMD| > 0.1 after adjustment."""
        after = self.balance["smd_after"].abs()
        return tuple(self.balance.loc[after > BALANCE_THRESHOLD, "covariate"])


def covariate_columns(study) -> list[str]:
    """Analysis-table columns of the covariates the study declares, in a fixed order.

    ``age``, ``female`` (derived: ``sex == 2``), ``calendar_year``, ``charlson``, then each flag name.
    """
    cov = study.covariates
    out = []
    if cov.age:
        out.append("age")
    if cov.sex:
        out.append("female")
    if cov.calendar_year:
        out.append("calendar_year")
    if cov.charlson:
        out.append("charlson")
    out.extend(f.name for f in cov.flags)
    return out


def _check_columns(table: pd.DataFrame, needed) -> None:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ModelInputError(
            "the analysis table lacks column(s) " + ", ".join(missing) + "; build it with build_cohort"
        )


def _preference_bins(pref: np.ndarray, groups: np.ndarray, names, sample: str) -> pd.DataFrame:
    edges = np.linspace(0.0, 1.0, _PREFERENCE_BINS + 1)
    rows = []
    for name in names:
        p = pref[groups == name]
        n, _ = np.histogram(p, bins=edges)
        total = max(int(p.size), 1)
        for i in range(_PREFERENCE_BINS):
            rows.append(
                {
                    "sample": sample,
                    "group": name,
                    "bin_lower": edges[i],
                    "bin_upper": edges[i + 1],
                    "n": int(n[i]),
                    "proportion": n[i] / total,
                }
            )
    return pd.DataFrame(rows)


def _balance(before: pd.DataFrame, after: pd.DataFrame | None) -> pd.DataFrame:
    out = before.rename(
        columns={
            "mean_treated": "mean_treated_before",
            "mean_control": "mean_control_before",
            "smd": "smd_before",
        }
    )
    if after is None:
        for c in ("mean_treated_after", "mean_control_after", "smd_after"):
            out[c] = np.nan
    else:
        out["mean_treated_after"] = after["mean_treated"].to_numpy()
        out["mean_control_after"] = after["mean_control"].to_numpy()
        out["smd_after"] = after["smd"].to_numpy()
    return out.reset_index(drop=True)


def adjust_for_confounding(table: pd.DataFrame, study, *, key: str = "person_key") -> ConfoundingResult:
    """Apply the study's confounding control to its analysis table.

    Parameters
    ----------
    table : pandas.DataFrame
        The cohort's analysis table (``Cohort.table``): ``person_key``, ``group``, ``exposure`` and the
        covariate columns.
    study : cohortstat.spec.Study
        Reads ``analyses.confounding`` (method, ratio, caliper_sd, exact, age_band_years, stabilized,
        seed), ``covariates`` and ``comparison``.
    key : str
        Unique, stable per-person id column that defines the canonical order.

    Returns
    -------
    ConfoundingResult

    Raises
    ------
    SpecError
        An exact-matching variable other than age_band, sex, calendar_year.
    ModelInputError
        Missing columns, a single exposure group, bad values.

    Warns
    -----
    BalanceWarning
        When any covariate has |SMD| > 0.1 after matching or weighting.

    References
    ----------
    Austin PC. Balance diagnostics ... in propensity-score matched samples. Stat Med 2009;28:3083-107.
    Austin PC. Optimal caliper widths for propensity-score matching. Pharm Stat 2011;10:150-61.
    Walker AM et al. A tool for assessing the feasibility of comparative effectiveness research.
    Comp Eff Res 2013;3:11-20.
    Li F, Morgan KL, Zaslavsky AM. Balancing covariates via propensity score weighting. JASA 2018;113:390-400.
    """
    conf = study.analyses.confounding
    method = conf.method
    allowed = EXACT_VARIABLES + ("age_band",) + tuple(f.name for f in study.covariates.flags)
    bad = [(i, e) for i, e in enumerate(conf.exact) if e not in allowed]
    if bad:
        raise SpecError(
            [
                (
                    f"analyses.confounding.exact.{i}",
                    f"unknown exact-matching variable {e!r}; use among {', '.join(allowed)}",
                )
                for i, e in bad
            ]
        )
    exposed, reference = study.comparison.exposed, study.comparison.reference
    covs = covariate_columns(study)
    raw_needed = [key, "group", "exposure"] + [("sex" if c == "female" else c) for c in covs]
    raw_needed += ["age" if e in ("age", "age_band") else e for e in conf.exact]
    _check_columns(table, list(dict.fromkeys(raw_needed)))

    # canonical row order: the seeded hash order of the person key (makes the fit and every output
    # independent of the input order); "_rank" then carries it as a cheap integer key into match()
    rank = canonical_rank(table[key].to_numpy(), conf.seed)
    work = table.take(np.argsort(rank, kind="stable")).reset_index(drop=True)
    work["_rank"] = np.arange(len(work), dtype=np.int64)
    if "female" in covs:
        work["female"] = (work["sex"] == 2).astype(np.int8)
    before = standardized_differences(work, treatment="exposure", covariates=covs)
    notes: list[str] = []

    if method == "none" or not covs:
        if method != "none":
            notes.append("no covariate declared: no confounding adjustment possible")
        out = table.copy()
        return ConfoundingResult(
            method="none" if not covs else method,
            table=out,
            balance=_balance(before, None),
            ps_coef=None,
            preference=None,
            attrition_rows=[],
            notes=tuple(notes),
        )

    ps = propensity_score(work, treatment="exposure", covariates=covs)
    notes.extend(ps.notes)
    groups = work["group"].to_numpy()
    names = [exposed, reference]
    preference = [_preference_bins(ps.preference, groups, names, "all")]
    attrition: list[dict] = []
    match_result = None
    out = work  # already a private, sorted copy of the input
    out["ps"] = ps.ps

    if method == "matching":
        mcols = []
        for e in conf.exact:
            if e in ("age", "age_band"):
                out["_age_band"] = (out["age"] // conf.age_band_years).astype(np.int64)
                mcols.append("_age_band")
            else:
                mcols.append(e)
        out["_logit_ps"] = ps.logit_ps
        match_result = match(
            out,
            treatment="exposure",
            score="_logit_ps",
            exact=tuple(mcols),
            ratio=conf.ratio,
            caliper_sd=conf.caliper_sd,
            seed=conf.seed,
            key="_rank",
        )
        notes.extend(match_result.notes)
        out["matched_set"] = match_result.matched_set
        out["weight"] = match_result.weights
        keep = match_result.matched
        n_before = {g: int((groups == g).sum()) for g in names}
        n_after = {g: int(((groups == g) & keep).sum()) for g in names}
        exact_txt = ""
        if conf.exact:
            parts = [
                f"age band ({conf.age_band_years} years)" if e in ("age", "age_band") else e.replace("_", " ")
                for e in conf.exact
            ]
            exact_txt = "; exact on " + ", ".join(parts)
        row = {
            "rule_id": "matching",
            "description": (
                f"Propensity-score matched 1:{conf.ratio} (nearest neighbour on the logit, caliper "
                f"{conf.caliper_sd:g} SD, without replacement{exact_txt})"
            ),
        }
        for g in names:
            row[f"n_{g}"] = n_after[g]
        for g in names:
            row[f"excluded_{g}"] = n_before[g] - n_after[g]
        attrition.append(row)
        matched = out.loc[keep].drop(columns=["_logit_ps", "_age_band"], errors="ignore")
        after = standardized_differences(matched, treatment="exposure", covariates=covs, weights="weight")
        preference.append(
            _preference_bins(ps.preference[keep], groups[keep], names, "matched")
        )
        order = np.lexsort(
            (matched["_rank"].to_numpy(), -matched["exposure"].to_numpy(), matched["matched_set"].to_numpy())
        )
        out = matched.take(order).drop(columns="_rank").reset_index(drop=True)
        notes.append(
            f"matching: {n_after[exposed]} of {n_before[exposed]} {exposed} and {n_after[reference]} of "
            f"{n_before[reference]} {reference} patients matched in {match_result.n_sets} sets"
        )
    else:
        if method == "iptw":
            w = iptw_weights(ps.ps, work["exposure"].to_numpy(), stabilized=conf.stabilized)
            kind = "stabilized" if conf.stabilized else "unstabilized"
            notes.append(f"IPTW (ATE), {kind}; max weight {w.max():.4g}")
        elif method == "overlap":
            w = overlap_weights(ps.ps, work["exposure"].to_numpy())
            notes.append("overlap weights (ATO)")
        else:  # pragma: no cover - the spec model restricts method
            raise SpecError([("analyses.confounding.method", f"unknown method {method!r}")])
        out["weight"] = w
        after = standardized_differences(out, treatment="exposure", covariates=covs, weights="weight")
        out = out.drop(columns="_rank")

    balance = _balance(before, after)
    result = ConfoundingResult(
        method=method,
        table=out,
        balance=balance,
        ps_coef=ps.table(),
        preference=pd.concat(preference, ignore_index=True),
        attrition_rows=attrition,
        notes=tuple(notes),
        propensity=ps,
        matching=match_result,
    )
    bad_bal = result.imbalanced
    if bad_bal:
        msg = (
            f"after {method}, {len(bad_bal)} covariate(s) have |SMD| > {BALANCE_THRESHOLD}: "
            + ", ".join(bad_bal)
            + "; consider a narrower caliper, exact matching on them, or adding them (or their "
            "non-linear terms) to the propensity model"
        )
        warnings.warn(msg, BalanceWarning, stacklevel=2)
        result = replace(result, notes=result.notes + (msg,))
    return result
