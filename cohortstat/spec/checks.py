"""Checks that relate several parts of a study: references, windows, duplicates, column clashes.

:func:`cross_check` reads plain data (the YAML document, or ``Study.model_dump()``) and skips any part
whose shape is wrong -- field validation reports that part -- so that the loader can report field
errors and cross-reference errors of one file together, in one pass.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

#: Column names a flag may not take: the columns of the analysis table the cohort builder outputs, the
#: columns of its intermediate tables (a flag column is joined onto them: a flag named ``death`` would
#: replace the death date), and the columns the analyses add (``female`` derived from sex, propensity
#: score, weight, matched set). ``tests/spec/test_reserved_columns.py`` checks that every column the
#: builder materialises for the shipped study is covered. Kept here, not imported from the cohort
#: package: the spec layer comes first.
FIXED_COLUMNS: frozenset[str] = frozenset(
    {
        # analysis table
        "person_key", "group", "exposure", "index_admission", "index_discharge", "follow_up_start",
        "age", "sex", "calendar_year", "charlson",
        # intermediate tables of the builder
        "patient_id", "stay_id", "pid", "grp", "hit", "day", "iadm", "idis", "adm", "dis", "adm_year",
        "birth_year", "death", "death_day", "death_date", "death_stay", "discharge_mode", "fu_start",
        "admin_end", "exit_step", "rn", "n_groups", "rank", "concept_set", "role", "icd10_code",
        "code_head", "admission_date", "discharge_date", "end_day",
        # added by the analyses
        "female", "ps", "logit_ps", "weight", "matched_set", "age_band", "time", "event", "status",
        # the count of prior stays (a propensity-model covariate) and its intermediate columns
        "prior_stays", "n_prior", "sadm",
    }
)
#: Prefixes of generated columns: Charlson components (and their raw flags), per-outcome time, event and
#: first occurrence, inclusion-rule checks; "_" (internal columns such as an outcome population's
#: ``_in_population_<o>``: study names cannot start with it).
RESERVED_PREFIXES: tuple[str, ...] = ("cci_", "raw_", "time_", "event_", "first_", "pass_", "_")
#: Covariates that always exist in the analysis table (strata and exact matching may name them).
BUILTIN_COVARIATES: tuple[str, ...] = ("age", "sex", "calendar_year", "charlson")

Problem = tuple[str, str]


def _map(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _seq(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else []


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None  # field validation reports datetimes with a time part
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _known(names: Any) -> str:
    names = sorted(str(n) for n in names)
    return ", ".join(names) if names else "(none defined)"


def _check_windows(data: Mapping, out: list[Problem]) -> None:
    period = _map(data.get("study_period"))
    start, end = _date(period.get("start")), _date(period.get("end"))
    if start and end and end < start:
        out.append(("study_period.end", f"{end} is before study_period.start ({start}); end must be on or after start"))
    follow = _map(data.get("follow_up"))
    eod = _date(follow.get("end_of_data"))
    if eod and end and eod < end:
        out.append(
            (
                "follow_up.end_of_data",
                f"{eod} is before study_period.end ({end}); data must cover the whole study period",
            )
        )
    blank, max_days = follow.get("blanking_days"), follow.get("max_days")
    if _is_int(blank) and _is_int(max_days) and blank >= max_days:
        out.append(
            (
                "follow_up.blanking_days",
                f"{blank} leaves no follow-up: it must be smaller than follow_up.max_days ({max_days})",
            )
        )


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_concept_refs(data: Mapping, out: list[Problem]) -> None:
    known = set(_map(data.get("concept_sets")))
    if not known and not isinstance(data.get("concept_sets"), Mapping):
        return  # concept_sets itself is missing or malformed: reported by field validation

    def ref(loc: str, name: Any) -> None:
        if isinstance(name, str) and name not in known:
            out.append((loc, f"unknown concept set {name!r}; known: {_known(known)}"))

    for cname, cohort in _map(data.get("cohorts")).items():
        for i, name in enumerate(_seq(_map(_map(cohort).get("entry")).get("concept_sets"))):
            ref(f"cohorts.{cname}.entry.concept_sets.{i}", name)
    for i, rule in enumerate(_seq(data.get("inclusion"))):
        rule = _map(rule)
        if rule.get("rule") == "no_prior_concept":
            ref(f"inclusion.{i}.concept_set", rule.get("concept_set"))
    for oname, outcome in _map(data.get("outcomes")).items():
        ref(f"outcomes.{oname}.concept_set", _map(outcome).get("concept_set"))
    for i, flag in enumerate(_seq(_map(data.get("covariates")).get("flags"))):
        ref(f"covariates.flags.{i}.concept_set", _map(flag).get("concept_set"))


def _check_comparison(data: Mapping, out: list[Problem]) -> None:
    cohorts = data.get("cohorts")
    comp = _map(data.get("comparison"))
    exposed, reference = comp.get("exposed"), comp.get("reference")
    if isinstance(cohorts, Mapping):
        for key, name in (("exposed", exposed), ("reference", reference)):
            if isinstance(name, str) and name not in cohorts:
                out.append((f"comparison.{key}", f"unknown cohort {name!r}; known: {_known(cohorts)}"))
    if isinstance(exposed, str) and exposed == reference:
        out.append(
            ("comparison.reference", f"must differ from comparison.exposed ({exposed!r}); compare two cohorts")
        )


def _codes(concept: Any) -> tuple | None:
    c = _map(concept)
    inc, exc = c.get("include"), c.get("exclude", ())
    if not isinstance(inc, (list, tuple)) or not isinstance(exc, (list, tuple)):
        return None
    try:
        from cohortstat.spec.codes import canonical_codes

        return canonical_codes(tuple(inc)), canonical_codes(tuple(exc))
    except (ValueError, TypeError):
        return None  # malformed codes: reported by field validation


def _check_outcome_vs_entry(data: Mapping, out: list[Problem]) -> None:
    """An outcome whose concept set defines a compared cohort: every patient of it is a prevalent case."""
    sets, cohorts = _map(data.get("concept_sets")), _map(data.get("cohorts"))
    comp = _map(data.get("comparison"))
    entry: dict[str, str] = {}
    for key in ("exposed", "reference"):
        name = comp.get(key)
        if isinstance(name, str):
            for cs in _seq(_map(_map(cohorts.get(name)).get("entry")).get("concept_sets")):
                if isinstance(cs, str):
                    entry.setdefault(cs, f"{key} cohort {name!r}")
    by_codes = {codes: cs for cs in entry if (codes := _codes(sets.get(cs))) is not None}
    for oname, outcome in _map(data.get("outcomes")).items():
        cs = _map(outcome).get("concept_set")
        if not isinstance(cs, str):
            continue
        same = cs if cs in entry else by_codes.get(_codes(sets.get(cs)) or ())
        if same is not None:
            what = "is" if same == cs else f"has the same codes as {same!r},"
            out.append((
                f"outcomes.{oname}.concept_set",
                f"{cs!r} {what} the entry concept set of the {entry[same]}: every patient of that cohort has"
                " the outcome at entry (a prevalent case), so nobody is at risk; choose an outcome concept set"
                " distinct from the cohorts' entry concept sets",
            ))


def _check_duplicates(items: list, key: str, where: str, what: str, out: list[Problem]) -> None:
    first: dict[Any, int] = {}
    for i, item in enumerate(items):
        value = _map(item).get(key)
        if not isinstance(value, str):
            continue
        if value in first:
            out.append(
                (
                    f"{where}.{i}.{key}",
                    f"duplicate {what} {value!r} (also {where}.{first[value]}.{key}); {what}s must be unique",
                )
            )
        else:
            first[value] = i


def _check_inclusion(data: Mapping, out: list[Problem]) -> None:
    rules = _seq(data.get("inclusion"))
    _check_duplicates(rules, "id", "inclusion", "id", out)
    for i, rule in enumerate(rules):
        rule = _map(rule)
        lo, hi = rule.get("min_years"), rule.get("max_years")
        if rule.get("rule") == "age_at_index" and _is_int(lo) and _is_int(hi) and hi < lo:
            out.append((f"inclusion.{i}.max_years", f"{hi} is below min_years ({lo}); max_years must be >= min_years"))


def _column_problem(name: str) -> str | None:
    if name in FIXED_COLUMNS:
        return (f"{name!r} is a fixed column of the analysis table or a column cohortstat uses while building it;"
                " choose another name (e.g. prefix it: flag_" + name + ")")
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            return (
                f"{name!r} starts with {prefix!r}, reserved for generated columns "
                f"({', '.join(RESERVED_PREFIXES)}); choose another name"
            )
    return None


def _check_columns(data: Mapping, out: list[Problem]) -> None:
    """Flag and outcome names become analysis-table columns: they must not clash."""
    flags = _seq(_map(data.get("covariates")).get("flags"))
    _check_duplicates(flags, "name", "covariates.flags", "flag name", out)
    for i, flag in enumerate(flags):
        name = _map(flag).get("name")
        if isinstance(name, str) and (problem := _column_problem(name)):
            out.append((f"covariates.flags.{i}.name", problem))
    # Outcome names need no check: their columns are time_<name> and event_<name>, and no fixed
    # column or flag may start with those prefixes.


def _covariate_names(data: Mapping) -> list[str]:
    flags = _seq(_map(data.get("covariates")).get("flags"))
    names = [n for f in flags if isinstance(n := _map(f).get("name"), str)]
    return list(dict.fromkeys([*BUILTIN_COVARIATES, *names]))


def _check_covariate_refs(data: Mapping, out: list[Problem]) -> None:
    known = _covariate_names(data)
    analyses = _map(data.get("analyses"))
    targets = (
        ("analyses.cox.strata", _map(analyses.get("cox")).get("strata")),
        ("analyses.confounding.exact", _map(analyses.get("confounding")).get("exact")),
    )
    for where, names in targets:
        for i, name in enumerate(_seq(names)):
            if isinstance(name, str) and name not in known:
                out.append((f"{where}.{i}", f"unknown covariate {name!r}; known: {', '.join(known)}"))


#: Subgroup variables besides the flags, and the covariate that must be switched on for each.
SUBGROUP_SOURCES = {"age_band": "age", "sex": "sex"}


def _check_subgroups(data: Mapping, out: list[Problem]) -> None:
    analyses = _map(data.get("analyses"))
    covs = _map(data.get("covariates"))
    flags = [n for f in _seq(covs.get("flags")) if isinstance(n := _map(f).get("name"), str)]
    allowed = [v for v, c in SUBGROUP_SOURCES.items() if covs.get(c, True) is not False] + flags
    seen = set()
    for i, name in enumerate(_seq(analyses.get("subgroups"))):
        if not isinstance(name, str):
            continue
        if name in seen:
            out.append((f"analyses.subgroups.{i}", f"{name!r} is listed twice"))
        seen.add(name)
        if name not in allowed:
            out.append((f"analyses.subgroups.{i}", f"unknown subgroup variable {name!r}; allowed: "
                        f"{', '.join(allowed)} (age_band and sex need covariates.age / covariates.sex on)"))
    bands = [b for b in _seq(analyses.get("age_bands")) if isinstance(b, int)]
    if any(b >= a for b, a in zip(bands, bands[1:])) or any(b <= 0 for b in bands):
        out.append(("analyses.age_bands", f"age band cut points must be positive and strictly increasing, got {bands}"))


def _check_periods(data: Mapping, out: list[Problem]) -> None:
    periods = [p for p in _seq(_map(data.get("analyses")).get("periods"))]
    pairs = [p for p in periods if isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, int) for v in p)]
    if len(pairs) != len(periods):
        return  # the field's own validation reports it
    if len(pairs) == 1:
        out.append(("analyses.periods", "give at least two periods to compare, e.g. [[365, 730], [730, 1825]]"))
    for i, (a, b) in enumerate(pairs):
        if not 0 <= a < b:
            out.append((f"analyses.periods.{i}", f"period [{a}, {b}] must have 0 <= start < end (days)"))
        elif i and a < pairs[i - 1][1]:
            out.append((f"analyses.periods.{i}", f"period [{a}, {b}] overlaps or comes before the previous one "
                        f"{list(pairs[i - 1])}; list periods in increasing order, each starting at or after the "
                        "previous end"))


#: Fewest negative controls accepted (a systematic-error distribution needs several).
MIN_NEGATIVE_CONTROLS = 5
#: Prefix of the outcome name of a negative control (``nc_<concept set>``).
NEGATIVE_CONTROL_PREFIX = "nc_"


def _check_negative_controls(data: Mapping, out: list[Problem]) -> None:
    controls = [c for c in _seq(data.get("negative_controls")) if isinstance(c, str)]
    if not controls:
        return
    known = list(_map(data.get("concept_sets")))
    outcomes = set(_map(data.get("outcomes")))
    for i, c in enumerate(controls):
        if c not in known:
            out.append((f"negative_controls.{i}", f"unknown concept set {c!r}; declare it under concept_sets"))
        if NEGATIVE_CONTROL_PREFIX + c in outcomes:
            out.append((f"negative_controls.{i}", f"outcome name {NEGATIVE_CONTROL_PREFIX + c!r} is taken; rename that outcome"))
        if c in controls[:i]:
            out.append((f"negative_controls.{i}", f"{c!r} is listed twice"))
    if len(set(controls)) < MIN_NEGATIVE_CONTROLS:
        out.append(("negative_controls", f"{len(set(controls))} negative control(s); empirical calibration needs at "
                    f"least {MIN_NEGATIVE_CONTROLS} outcomes believed unaffected by the exposure"))


def _check_ps_covariates(data: Mapping, out: list[Problem]) -> None:
    """The propensity model's own flags: known concept sets, free names, one definition per name."""
    where = "analyses.confounding.covariates.flags"
    flags = _seq(_map(_map(_map(data.get("analyses")).get("confounding")).get("covariates")).get("flags"))
    if not flags:
        return
    known = set(_map(data.get("concept_sets")))
    main = {_map(f).get("name"): _map(f) for f in _seq(_map(data.get("covariates")).get("flags"))}
    _check_duplicates(flags, "name", where, "flag name", out)
    for i, flag in enumerate(flags):
        flag, name = _map(flag), _map(flag).get("name")
        cset = flag.get("concept_set")
        if isinstance(cset, str) and known and cset not in known:
            out.append((f"{where}.{i}.concept_set", f"unknown concept set {cset!r}; known: {_known(known)}"))
        if isinstance(name, str) and (problem := _column_problem(name)):
            out.append((f"{where}.{i}.name", problem))
        elif isinstance(name, str) and name in main and not _same_flag(main[name], flag):
            out.append((f"{where}.{i}", f"flag {name!r} is defined differently under covariates.flags; give "
                        "the same definition or another name"))


def _same_flag(a: Mapping, b: Mapping) -> bool:
    keys = ("concept_set", "lookback_days")
    roles = lambda f: sorted(f.get("roles") or ("principal", "related", "associated"))  # noqa: E731
    return all(a.get(k) == b.get(k) for k in keys) and roles(a) == roles(b)


# --- reference rates (standardized incidence ratios) -----------------------------------------------

_RATES_AT = "reference_rates.file"
_SEX_NAMES = {1: "male (1)", 2: "female (2)"}
_SEX_CODES = {1: 1, 2: 2, "1": 1, "2": 2, "male": 1, "female": 2}


def _admitted_ages(data: Mapping) -> tuple[int, float]:
    """Ages (years) the follow-up of the study can reach: ``[lowest, highest)`` (inf: no upper limit)."""
    lo, hi = 0, None
    for rule in _seq(data.get("inclusion")):
        rule = _map(rule)
        if rule.get("rule") == "age_at_index":
            if _is_int(rule.get("min_years")):
                lo = max(lo, rule["min_years"])
            if _is_int(rule.get("max_years")):
                hi = rule["max_years"] if hi is None else min(hi, rule["max_years"])
    if hi is None:
        return lo, math.inf
    start = _date(_map(data.get("study_period")).get("start"))
    eod = _date(_map(data.get("follow_up")).get("end_of_data"))
    span = (eod - start).days / 365.25 if start and eod and eod > start else 0.0
    # age at index is in whole years (year of admission - birth year): the true age is below age + 1
    return lo, hi + 1 + math.ceil(span)


def _outcome_sexes(outcome: Mapping) -> list[int]:
    sex = _map(outcome.get("population")).get("sex")
    code = _SEX_CODES.get(sex.lower() if isinstance(sex, str) else sex)
    return [code] if code else [1, 2]


def _band_problem(bands: list, ages: tuple[int, float]) -> str | None:
    """The first uncovered or doubly covered age of ``bands`` (``(lower, upper or None)``) within ``ages``."""
    lo, hi = ages
    bands = sorted((b[0], math.inf if b[1] is None else b[1]) for b in bands)
    if bands[0][0] > lo:
        return f"no age band for ages [{lo}, {bands[0][0]})"
    for (a0, a1), (b0, b1) in zip(bands, bands[1:]):
        if b0 < a1:
            return f"age bands [{a0}, {_end(a1)}) and [{b0}, {_end(b1)}) overlap"
        if b0 > a1 and a1 < hi:
            return f"no age band for ages [{a1}, {b0}) (a gap between bands)"
    end = bands[-1][1]
    if end < hi:
        reach = "any age (no age_at_index max_years)" if hi == math.inf else f"ages up to {hi}"
        return (f"the last age band ends at {end} but the follow-up reaches {reach}; add bands up to it or leave "
                "age_upper empty on the last band (open-ended)")
    return None


def _end(v: float) -> str:
    return "inf" if v == math.inf else str(int(v))


def _years(data: Mapping) -> list[int]:
    start = _date(_map(data.get("study_period")).get("start"))
    eod = _date(_map(data.get("follow_up")).get("end_of_data"))
    return list(range(start.year, eod.year + 1)) if start and eod else []


def _check_reference_rates(data: Mapping, out: list[Problem]) -> None:
    section = _map(data.get("reference_rates"))
    rows = [r for r in _seq(section.get("rates")) if isinstance(r, Mapping)]
    if not rows:
        return  # no section, or the file could not be read (reported where it was read)
    covs = _map(data.get("covariates"))
    for c in ("age", "sex"):
        if covs.get(c, True) is False:
            out.append((f"covariates.{c}", f"must be on: reference_rates are by age and sex (covariates.{c}: true)"))
    name = section.get("file", "the rate file")
    outcomes = _map(data.get("outcomes"))
    by_year = any(r.get("calendar_year") is not None for r in rows)
    years, ages = _years(data) if by_year else [None], _admitted_ages(data)
    unknown = sorted({str(r.get("outcome")) for r in rows} - set(map(str, outcomes)))
    if unknown:
        out.append((_RATES_AT, f"{name}: unknown outcome(s) {', '.join(map(repr, unknown))}; outcomes of the study: "
                    f"{_known(outcomes)}"))
    for oname, outcome in outcomes.items():
        mine = [r for r in rows if r.get("outcome") == oname]
        if not mine:
            out.append((_RATES_AT, f"{name}: no rates for outcome {oname!r}; every outcome needs reference rates"))
            continue
        problem = _coverage_problem(mine, _outcome_sexes(_map(outcome)), years, ages)
        if problem:
            out.append((_RATES_AT, f"{name}: outcome {oname!r}: {problem}"))


def _coverage_problem(rows: list, sexes: list[int], years: list, ages: tuple[int, float]) -> str | None:
    for sex in sexes:
        for year in years:
            bands = [(r.get("age_lower"), r.get("age_upper")) for r in rows
                     if r.get("sex") == sex and r.get("calendar_year") == year]
            where = f"sex {_SEX_NAMES[sex]}" + ("" if year is None else f", calendar year {year}")
            if not bands:
                return f"no rate for {where} (the study admits it)"
            if not all(_is_int(b[0]) and (b[1] is None or _is_int(b[1])) for b in bands):
                return None  # field validation reports malformed bands
            problem = _band_problem(bands, ages)
            if problem:
                return f"{where}: {problem}"
    return None


def cross_check(data: Mapping) -> list[Problem]:
    """Every cross-reference problem of a study document, as ``(location, message)`` pairs."""
    if not isinstance(data, Mapping):
        return []
    out: list[Problem] = []
    _check_windows(data, out)
    _check_concept_refs(data, out)
    _check_comparison(data, out)
    _check_outcome_vs_entry(data, out)
    _check_inclusion(data, out)
    _check_columns(data, out)
    _check_covariate_refs(data, out)
    _check_subgroups(data, out)
    _check_periods(data, out)
    _check_negative_controls(data, out)
    _check_ps_covariates(data, out)
    _check_reference_rates(data, out)
    return out
