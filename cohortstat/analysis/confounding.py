"""Confounding control of a study: propensity-score matching or weighting, with balance diagnostics.

``adjust_for_confounding(table, study)`` reads ``study.analyses.confounding`` and the covariates of the
propensity model (``analyses.confounding.covariates``, else the study's ``covariates``), fits the
propensity score of being in the exposed group, then

- ``method="matching"``: matches exposed to reference patients (:func:`cohortstat.models.matching.match`
  on the logit of the propensity score, within the caliper, exact on the declared variables) and returns
  the matched rows with ``matched_set``, ``weight`` (matching weights, 1 when every set is complete)
  and ``ps`` columns, plus an attrition row "matching";
- ``method="iptw"`` / ``"overlap"``: returns every row with ``weight`` and ``ps`` columns (IPTW for the
  ATE or, with ``estimand: att``, the ATT; truncated at percentiles with ``truncate``);
- ``trim: [a, b]`` (any method): persons whose score lies outside ``[a, b]`` are left out first, with an
  attrition row "ps_trimming";
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

from cohortstat.analysis.balance import balance_table
from cohortstat.analysis.terms import add_term_columns, raw_columns, term_columns
from cohortstat.constants import (
    AGE,
    BALANCE_THRESHOLD,
    CALENDAR_YEAR,
    CHARLSON,
    EXPOSURE,
    FEMALE,
    GROUP,
    MATCHED_SET,
    PERSON_KEY,
    PS,
    SEX,
    SEX_FEMALE,
    WEIGHT,
)
from cohortstat.errors import BalanceWarning, ModelInputError, SpecError
from cohortstat.models.matching import MatchResult, canonical_rank, match
from cohortstat.models.weighting import (
    PropensityScore,
    iptw_weights,
    overlap_weights,
    propensity_score,
    truncate_weights,
    within_bounds,
)

__all__ = ["BALANCE_THRESHOLD", "ConfoundingResult", "adjust_for_confounding", "covariate_columns", "ps_covariates"]

#: Exact-matching names that are always available; flag names may be used too. ``age`` means age
#: in bands of ``age_band_years`` (``age_band`` is accepted as an alias).
EXACT_VARIABLES = (AGE, SEX, CALENDAR_YEAR, CHARLSON)
_AGE_NAMES = (AGE, "age_band")
_PREFERENCE_BINS = 20
_RANK = "_rank"
_AGE_BAND = "_age_band"
_LOGIT_PS = "_logit_ps"
_PREFERENCE = "_preference"
BALANCE_COLUMNS = ["covariate", "kind", "mean_exposed_before", "mean_reference_before", "smd_before",
                   "mean_exposed_after", "mean_reference_after", "smd_after"]


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
        ``covariate, kind, mean_exposed_before, mean_reference_before, smd_before, mean_exposed_after,
        mean_reference_after, smd_after`` (the *after* columns are NaN for ``method="none"``).
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
        """Covariates with |SMD| > :data:`~cohortstat.constants.BALANCE_THRESHOLD` after adjustment."""
        after = self.balance["smd_after"].abs()
        return tuple(self.balance.loc[after > BALANCE_THRESHOLD, "covariate"])


def covariate_columns(study) -> list[str]:
    """Analysis-table columns of the covariates the study declares (the adjusted outcome models' terms),
    in a fixed order.

    ``age``, ``female`` (derived: ``sex == 2``), ``calendar_year``, ``charlson``, then each flag name; age
    and calendar year entered as splines or categories give their derived columns instead
    (:mod:`cohortstat.analysis.terms`).
    """
    return term_columns(study.covariates)


def ps_covariates(study):
    """The covariates section of the propensity model: ``analyses.confounding.covariates``, or the study's
    ``covariates`` when that key is absent."""
    own = study.analyses.confounding.covariates
    return study.covariates if own is None else own


def _check_exact(conf, study) -> None:
    allowed = EXACT_VARIABLES + ("age_band",) + tuple(f.name for f in study.covariates.flags)
    bad = [(i, e) for i, e in enumerate(conf.exact) if e not in allowed]
    if bad:
        raise SpecError([(f"analyses.confounding.exact.{i}",
                          f"unknown exact-matching variable {e!r}; use among {', '.join(allowed)}")
                         for i, e in bad])


def _check_columns(table: pd.DataFrame, needed) -> None:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ModelInputError(
            "the analysis table lacks column(s) " + ", ".join(missing) + "; build it with build_cohort"
        )


def _canonical(table: pd.DataFrame, key: str, seed: int, covs) -> pd.DataFrame:
    """A private copy in the seeded hash order of the key, with ``_rank`` (that order) and ``female``.

    The canonical order makes the fit and every output independent of the input order; ``_rank`` then
    carries it as a cheap integer key into :func:`match`.
    """
    rank = canonical_rank(table[key].to_numpy(), seed)
    work = table.take(np.argsort(rank, kind="stable"))
    work.index = pd.RangeIndex(len(work))  # (reset_index would copy the whole table once more)
    work[_RANK] = np.arange(len(work), dtype=np.int64)
    if FEMALE in covs:
        work[FEMALE] = (work[SEX] == SEX_FEMALE).astype(np.int8)
    return work


def _preference_bins(pref: np.ndarray, groups: np.ndarray, names, sample: str) -> pd.DataFrame:
    edges = np.linspace(0.0, 1.0, _PREFERENCE_BINS + 1)
    rows = []
    for name in names:
        p = pref[groups == name]
        n, _ = np.histogram(p, bins=edges)
        total = max(int(p.size), 1)
        for i in range(_PREFERENCE_BINS):
            rows.append({"sample": sample, "group": name, "bin_lower": edges[i], "bin_upper": edges[i + 1],
                         "n": int(n[i]), "proportion": n[i] / total})
    return pd.DataFrame(rows)


def _balance(before: pd.DataFrame, after: pd.DataFrame | None) -> pd.DataFrame:
    out = before.rename(columns={"mean_exposed": "mean_exposed_before", "mean_reference": "mean_reference_before",
                                 "smd": "smd_before"})
    if after is None:
        for c in ("mean_exposed_after", "mean_reference_after", "smd_after"):
            out[c] = np.nan
    else:
        out["mean_exposed_after"] = after["mean_exposed"].to_numpy()
        out["mean_reference_after"] = after["mean_reference"].to_numpy()
        out["smd_after"] = after["smd"].to_numpy()
    return out[BALANCE_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class _Adjusted:
    """What one adjustment method produced (internal)."""

    table: pd.DataFrame
    after: pd.DataFrame
    notes: tuple[str, ...]
    preference: pd.DataFrame | None = None
    attrition_row: dict | None = None
    matching: MatchResult | None = None


def _exact_columns(out: pd.DataFrame, conf) -> list[str]:
    cols = []
    for e in conf.exact:
        if e in _AGE_NAMES:
            out[_AGE_BAND] = (out[AGE] // conf.age_band_years).astype(np.int64)
            cols.append(_AGE_BAND)
        else:
            cols.append(e)
    return cols


def _matching_row(conf, names, n_before: dict, n_after: dict) -> dict:
    exact_txt = ""
    if conf.exact:
        parts = [f"age band ({conf.age_band_years} years)" if e in _AGE_NAMES else e.replace("_", " ")
                 for e in conf.exact]
        exact_txt = "; exact on " + ", ".join(parts)
    row = {"rule_id": "matching",
           "description": (f"Propensity-score matched 1:{conf.ratio} (nearest neighbour on the logit, caliper "
                           f"{conf.caliper_sd:g} SD, without replacement{exact_txt})")}
    for g in names:
        row[f"n_{g}"] = n_after[g]
    for g in names:
        row[f"excluded_{g}"] = n_before[g] - n_after[g]
    return row


def _match(out: pd.DataFrame, conf, covs, names) -> _Adjusted:
    """Match exposed to reference persons on the logit of the PS; the matched table in set order."""
    exposed, reference = names
    groups = out[GROUP].to_numpy()
    mcols = _exact_columns(out, conf)
    res = match(out, treatment=EXPOSURE, score=_LOGIT_PS, exact=tuple(mcols), ratio=conf.ratio,
                caliper_sd=conf.caliper_sd, seed=conf.seed, key=_RANK)
    notes = list(res.notes)
    out[MATCHED_SET] = res.matched_set
    out[WEIGHT] = res.weights
    keep = res.matched
    n_before = {g: int((groups == g).sum()) for g in names}
    n_after = {g: int(((groups == g) & keep).sum()) for g in names}
    preference = out[_PREFERENCE].to_numpy()[keep]
    matched = out.loc[keep].drop(columns=[_LOGIT_PS, _PREFERENCE, _AGE_BAND], errors="ignore")
    after = balance_table(matched, exposure=EXPOSURE, covariates=covs, weights=WEIGHT)
    order = np.lexsort((matched[_RANK].to_numpy(), -matched[EXPOSURE].to_numpy(), matched[MATCHED_SET].to_numpy()))
    table = matched.take(order).drop(columns=_RANK).reset_index(drop=True)
    notes.append(f"matching: {n_after[exposed]} of {n_before[exposed]} {exposed} and {n_after[reference]} of "
                 f"{n_before[reference]} {reference} patients matched in {res.n_sets} sets")
    if conf.truncate is not None:
        notes.append("weight truncation (analyses.confounding.truncate) applies to IPTW only: not used")
    return _Adjusted(table=table, after=after, notes=tuple(notes),
                     preference=_preference_bins(preference, groups[keep], names, "matched"),
                     attrition_row=_matching_row(conf, names, n_before, n_after), matching=res)


def _iptw(ps: np.ndarray, exposure: np.ndarray, conf) -> tuple[np.ndarray, str]:
    """IPTW weights (ATE or ATT, stabilized or not, truncated or not) and the note that says which."""
    w = iptw_weights(ps, exposure, stabilized=conf.stabilized, estimand=conf.estimand)
    kind = "stabilized" if conf.stabilized else "unstabilized"
    note = f"IPTW ({conf.estimand.upper()}), {kind}"
    if conf.truncate is not None:
        tr = truncate_weights(w, exposure, conf.truncate, conf.estimand)
        w = tr.weights
        whose = "reference group's weights" if conf.estimand == "att" else "weights"
        note += (f"; {whose} truncated at their {1 - conf.truncate:.4g} and {conf.truncate:.4g} quantiles "
                 f"({tr.lower:#.4g} and {tr.upper:#.4g})")
    return w, note + f"; max weight {w.max():.4g}"


def _weight(out: pd.DataFrame, conf, covs, method: str) -> _Adjusted:
    """IPTW (ATE or ATT) or overlap (ATO) weights on every person, in the canonical order."""
    exposure = out[EXPOSURE].to_numpy()
    ps = out[PS].to_numpy()
    if method == "iptw":
        w, note = _iptw(ps, exposure, conf)
    elif method == "overlap":
        w = overlap_weights(ps, exposure)
        note = "overlap weights (ATO)"
        if conf.truncate is not None:
            note += "; weight truncation (analyses.confounding.truncate) applies to IPTW only: not used"
    else:  # pragma: no cover - the spec model restricts method
        raise SpecError([("analyses.confounding.method", f"unknown method {method!r}")])
    out[WEIGHT] = w
    after = balance_table(out, exposure=EXPOSURE, covariates=covs, weights=WEIGHT)
    return _Adjusted(table=out.drop(columns=[_RANK, _LOGIT_PS, _PREFERENCE]), after=after, notes=(note,))


def _constant_components(table: pd.DataFrame, terms: list[str]) -> tuple[list[str], list[str]]:
    """Charlson components (``cci_*``, asked for as a whole with ``charlson: components``) that take one
    value in the cohort are left out of the propensity model (R ``glm`` would report them as NA)."""
    dropped = [c for c in terms if c.startswith("cci_") and table[c].nunique(dropna=True) < 2]
    return [c for c in terms if c not in dropped], dropped


def _trim(work: pd.DataFrame, conf, names) -> tuple[pd.DataFrame, dict | None, tuple[str, ...]]:
    """Drop persons whose propensity score lies outside ``conf.trim`` (persons without a score stay: the
    models drop them for their missing value): the kept rows, the attrition row and a note."""
    if conf.trim is None:
        return work, None, ()
    a, b = conf.trim
    ps = work[PS].to_numpy()
    keep = within_bounds(ps, (a, b)) | np.isnan(ps)
    groups = work[GROUP].to_numpy()
    row = {"rule_id": "ps_trimming",
           "description": f"Propensity score within [{a:g}, {b:g}] (persons outside trimmed)"}
    for g in names:
        row[f"n_{g}"] = int(((groups == g) & keep).sum())
    for g in names:
        row[f"excluded_{g}"] = int(((groups == g) & ~keep).sum())
    note = (f"propensity-score trimming: persons with a score outside [{a:g}, {b:g}] left out before "
            "weighting or matching (the score is not refitted; counts in the attrition table)")
    kept = work.loc[keep].reset_index(drop=True)
    if kept[EXPOSURE].nunique() < 2:
        raise ModelInputError(f"trimming to [{a:g}, {b:g}] leaves a single exposure group; widen analyses.confounding.trim")
    return kept, row, (note,)


def _imbalance_note(result: ConfoundingResult) -> ConfoundingResult:
    """Warn (BalanceWarning) and add a note when a covariate stays imbalanced after adjustment."""
    bad = result.imbalanced
    if not bad:
        return result
    msg = (f"after {result.method}, {len(bad)} covariate(s) have |SMD| > {BALANCE_THRESHOLD}: " + ", ".join(bad)
           + "; consider a narrower caliper, exact matching on them, or adding them (or their "
           "non-linear terms) to the propensity model")
    warnings.warn(msg, BalanceWarning, stacklevel=3)
    return replace(result, notes=result.notes + (msg,))


def adjust_for_confounding(table: pd.DataFrame, study, *, key: str = PERSON_KEY) -> ConfoundingResult:
    """Apply the study's confounding control to its analysis table.

    Parameters
    ----------
    table : pandas.DataFrame
        The cohort's analysis table (``Cohort.table``): ``person_key``, ``group``, ``exposure`` and the
        covariate columns.
    study : cohortstat.spec.Study
        Reads ``analyses.confounding`` (method, ratio, caliper_sd, exact, age_band_years, stabilized,
        seed, estimand, trim, truncate, covariates), ``covariates`` and ``comparison``.
    key : str
        Unique, stable per-person id column that defines the canonical order.

    Returns
    -------
    ConfoundingResult

    Raises
    ------
    SpecError
        An exact-matching variable other than age_band, sex, calendar_year, charlson or a flag.
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
    _check_exact(conf, study)
    names = (study.comparison.exposed, study.comparison.reference)
    ps_cov = ps_covariates(study)
    ps_terms = term_columns(ps_cov)
    covs = list(dict.fromkeys(raw_columns(study.covariates) + raw_columns(ps_cov)))  # balance variables
    raw_needed = [key, GROUP, EXPOSURE] + [(SEX if c == FEMALE else c) for c in covs]
    raw_needed += [AGE if e in _AGE_NAMES else e for e in conf.exact]
    _check_columns(table, list(dict.fromkeys(raw_needed)))
    work = _canonical(table, key, conf.seed, covs)
    # before adjustment every person weighs 1 (the weighted formulas, as after adjustment)
    before = balance_table(work, exposure=EXPOSURE, covariates=covs)
    if method == "none" or not ps_terms:
        notes = ("no covariate declared: no confounding adjustment possible",) if method != "none" else ()
        return ConfoundingResult(method="none" if not ps_terms else method, table=table.copy(),
                                 balance=_balance(before, None), ps_coef=None, preference=None,
                                 attrition_rows=[], notes=notes)
    derived = add_term_columns(work, ps_cov)
    ps_terms, dropped = _constant_components(derived, ps_terms)
    ps = propensity_score(derived, treatment=EXPOSURE, covariates=ps_terms)
    if dropped:
        ps = replace(ps, notes=ps.notes + (f"Charlson component(s) {', '.join(dropped)} left out of the propensity "
                                           "model: the same value for everybody in the cohort",))
    work[PS] = ps.ps  # work is already a private, sorted copy of the input
    work[_LOGIT_PS] = ps.logit_ps
    work[_PREFERENCE] = ps.preference
    preference = [_preference_bins(ps.preference, work[GROUP].to_numpy(), list(names), "all")]
    work, trim_row, trim_notes = _trim(work, conf, names)
    if method == "matching":
        adj = _match(work, conf, covs, list(names))
    else:
        adj = _weight(work, conf, covs, method)
    if adj.preference is not None:
        preference.append(adj.preference)
    rows = [r for r in (trim_row, adj.attrition_row) if r]
    result = ConfoundingResult(
        method=method, table=adj.table, balance=_balance(before, adj.after), ps_coef=ps.table(),
        preference=pd.concat(preference, ignore_index=True),
        attrition_rows=rows, notes=tuple(ps.notes) + trim_notes + adj.notes,
        propensity=ps, matching=adj.matching,
    )
    return _imbalance_note(result)
