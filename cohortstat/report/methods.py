"""The methods section of the report, written from the resolved study (and the run's provenance).

Every sentence is generated from the spec: code lists as ranges (``S00-T14``), the data source by
name, every analysis and sensitivity variant, the software versions, spec hash and data fingerprint.
Spec values that are keywords (``in_both: exclude``, ``variance: crr``) become sentences, never raw words.
"""

from __future__ import annotations

import re

__all__ = ["SOURCE_NAMES", "code_ranges", "fingerprint_digest", "methods_text", "zero_by_design_reason"]

#: Data sources by name, as a methods section cites them.
SOURCE_NAMES = {
    "pmsi": "the French hospital discharge database (PMSI, Programme de médicalisation des systèmes d'information)",
    "snds": "the French national health data system (SNDS), hospital stays of the PMSI",
    "omop": "a database in the OMOP Common Data Model (OHDSI)",
}
_IN_BOTH = {
    "exclude": "Patients with qualifying index stays for both groups were excluded.",
    "first_event": "Patients with qualifying index stays for both groups were assigned to the group of their "
                   "first qualifying stay.",
    "exposed": "Patients with qualifying index stays for both groups were assigned to the exposed group.",
}
_FG_VARIANCE = {
    "crr": "the sandwich variance of Fine and Gray (1999) as computed by R cmprsk::crr",
    "robust": "a robust (sandwich) variance",
}
_TRANSFORMS = {"km": "Kaplan-Meier", "identity": "identity", "rank": "rank", "log": "log"}
_COX_VARIANCE = {"model": "model-based variance", "robust": "robust (sandwich) variance"}
_CODE = re.compile(r"^([A-Z])(\d+)$")


def _ordinal(code: str) -> tuple[int, int] | None:
    """``(length, position)`` of a letter-digits code, consecutive codes of one length differing by 1."""
    m = _CODE.match(code)
    if not m:
        return None
    digits = m.group(2)
    return len(digits), (ord(m.group(1)) - 65) * 10 ** len(digits) + int(digits)


def code_ranges(codes) -> str:
    """A code list with runs of consecutive codes merged: ``S00, ..., S99, T00, ..., T14`` -> ``S00–T14``.

    Codes stay in their order of first appearance; only codes of one length (``C00``-``C97``,
    ``R650``-``R651``) merge, across letters (``S99`` then ``T00``).
    """
    out: list[list[str]] = []
    last = None
    for code in dict.fromkeys(str(c) for c in codes):
        pos = _ordinal(code)
        if out and pos is not None and last is not None and pos[0] == last[0] and pos[1] == last[1] + 1:
            out[-1][1] = code
        else:
            out.append([code, code])
        last = pos
    return ", ".join(a if a == b else f"{a}–{b}" for a, b in out)


def _codes(cs) -> str:
    text = code_ranges(cs.include)
    if cs.exclude:
        text += " (excluding " + code_ranges(cs.exclude) + ")"
    return text


def _roles(roles) -> str:
    roles = list(roles)
    return roles[0] if len(roles) == 1 else ", ".join(roles[:-1]) + " or " + roles[-1]


def _design(study, source: str | None) -> str:
    c = study.comparison
    sets = study.concept_sets
    coh = []
    for name, cohort in study.cohorts.items():
        codes = "; ".join(f"{s.replace('_', ' ')}: {_codes(sets[s])}" for s in cohort.entry.concept_sets)
        coh.append(f"{cohort.label.lower() if cohort.label else name} (first stay admitted between "
                   f"{study.study_period.start} and {study.study_period.end} with a {_roles(cohort.entry.roles)} "
                   f"diagnosis of ICD-10 {codes})")
    where = f" in {SOURCE_NAMES.get(source, source)}" if source else ""
    return (f"Design: retrospective cohort study{where} comparing patients with a "
            f"{coh[0] if coh else c.exposed} with patients with a {coh[1] if len(coh) > 1 else c.reference}. "
            + _IN_BOTH.get(c.in_both, ""))


def _inclusion(study) -> str:
    sets = study.concept_sets
    rules = []
    for r in study.inclusion:
        extra = ""
        if r.rule == "age_at_index":
            extra = (f" (age {r.min_years} to {r.max_years} years)" if r.max_years else
                     f" (age {r.min_years} years or over; patients without a recorded birth year excluded)")
        elif r.rule == "no_prior_concept":
            extra = f" (ICD-10 {_codes(sets[r.concept_set])}; lookback {r.lookback_days} days)"
        elif r.rule == "alive_at_landmark":
            extra = f" ({r.days} days)"
        rules.append(f"{r.description or r.id.replace('_', ' ')}{extra}")
    return "Inclusion rules, applied in order: " + "; ".join(rules) + "." if rules else ""


def _follow_up(study) -> str:
    f = study.follow_up
    start = f"the index {f.anchor}" + (f" plus {f.offset_days} days" if f.offset_days else "")
    text = f"Follow-up starts at {start}"
    if f.blanking_days:
        text += (f"; events in the first {f.blanking_days} days (blanking period) are not counted and the patient "
                 "must be alive and event-free at its end")
    ends = ["death", f"the end of data ({f.end_of_data})"] + ([f"{f.max_days} days"] if f.max_days else [])
    return text + f"; follow-up ends at {_roles(ends)}, whichever comes first."


def _outcomes(study) -> str:
    sets = study.concept_sets
    outs = "; ".join(f"{o.label} (ICD-10 {_codes(sets[o.concept_set])}, {_roles(o.roles)} diagnoses)"
                     for o in study.outcomes.values())
    comp = ", ".join(study.competing_events)
    return (f"Outcomes (first occurrence; patients with the outcome before follow-up start are not at risk for it): "
            f"{outs}. Competing event: {comp}.")


def _covariates(study) -> list[str]:
    sets = study.concept_sets
    cov = study.covariates
    names = [n for n, on in (("age", cov.age), ("sex", cov.sex), ("calendar year", cov.calendar_year),
                             ("Charlson comorbidity index (Quan 2005 ICD-10 coding, Charlson 1987 weights)",
                              cov.charlson)) if on]
    names += [f"{fl.name.replace('_', ' ')} (ICD-10 {_codes(sets[fl.concept_set])}, lookback {fl.lookback_days} "
              "days)" for fl in cov.flags]
    return names


def _confounding(cf) -> str:
    if cf.method == "none":
        return ""
    if cf.method == "matching":
        exact = ", ".join(f"age band ({cf.age_band_years} years)" if e in ("age", "age_band") else e.replace("_", " ")
                          for e in cf.exact)
        how = (f"1:{cf.ratio} nearest-neighbour matching without replacement on the logit of the propensity score "
               f"within a caliper of {cf.caliper_sd:g} SD" + (f", exactly on {exact}" if exact else "")
               + (" (random seed " + str(cf.seed) + ")"))
    elif cf.method == "iptw":
        how = f"inverse probability of treatment weighting ({'stabilized' if cf.stabilized else 'unstabilized'})"
    else:
        how = "overlap weighting"
    return (f" Confounding was controlled by {how}, the propensity score estimated by logistic regression on the "
            "adjustment covariates; outcome models after adjustment use a robust variance, and balance is assessed "
            "by standardized mean differences (threshold 0.1)." + _analysed_rates(cf))


def _analysed_rates(cf) -> str:
    """How the incidence rates of the analysed (matched or weighted) population are computed."""
    if cf.method == "matching":
        return (" Incidence rates are also given in the matched population (patients, events and person-years of "
                "the matched sets), with exact Poisson intervals.")
    return (" Incidence rates of the weighted population are weighted events over weighted person-years, with "
            "95% confidence intervals from the robust (HC0 sandwich) variance of an intercept-only Poisson model "
            "with the logarithm of person-time as offset and the propensity-score weights as prior weights.")


def _analysis(study) -> str:
    a = study.analyses
    models = []
    if a.cox.crude or a.cox.adjusted:
        models.append(f"cause-specific Cox proportional hazards models ({a.cox.ties.capitalize()} method for ties, "
                      f"{_COX_VARIANCE[a.cox.variance]}"
                      + (f", stratified on {', '.join(a.cox.strata)}" if a.cox.strata else "") + ")")
    if a.fine_gray.crude or a.fine_gray.adjusted:
        models.append(f"Fine-Gray subdistribution hazard models ({_FG_VARIANCE[a.fine_gray.variance]})")
    kinds = [k for k, on in (("crude", a.cox.crude or a.fine_gray.crude),
                             ("adjusted", a.cox.adjusted or a.fine_gray.adjusted)) if on]
    names = _covariates(study)
    transform = _TRANSFORMS.get(a.ph_test.transform, a.ph_test.transform)
    text = ("Statistical analysis: incidence rates per 1000 person-years with exact Poisson (Garwood) 95% confidence "
            "intervals; cumulative incidence by the Aalen-Johansen estimator with death as a competing event, "
            "compared by Gray's test; " + " and ".join(models) + f", {' and '.join(kinds)}"
            + (f" for {', '.join(names)}" if "adjusted" in kinds and names else "") + ". "
            f"Proportional hazards were tested on scaled Schoenfeld residuals ({transform} time transform, "
            f"significance level {a.ph_test.alpha:g}). E-values (VanderWeele and Ding 2017) quantify the unmeasured "
            "confounding that would explain away each exposure hazard ratio." + _confounding(a.confounding))
    if a.subgroups:
        text += (" Subgroup hazard ratios by " + ", ".join(s.replace("_", " ") for s in a.subgroups)
                 + (f" (age bands cut at {', '.join(map(str, a.age_bands))} years)" if a.age_bands else "")
                 + ", with a test of interaction.")
    if a.periods:
        text += (" Period-specific hazard ratios over follow-up periods of "
                 + ", ".join(f"{lo} to {hi} days" for lo, hi in a.periods) + ", with a test of heterogeneity.")
    return text


def _controls(study) -> str:
    nc = getattr(study, "negative_controls", ()) or ()
    if not nc:
        return ""
    sets = study.concept_sets
    return ("Negative-control outcomes, believed unaffected by the exposure, analysed as the outcomes and used for "
            "empirical calibration of the exposure estimates: " + "; ".join(
                f"{n.replace('_', ' ')} (ICD-10 {_codes(sets[n])})" for n in nc if n in sets) + ".")


def _variants(study) -> str:
    variants = getattr(study, "sensitivity", None) or {}
    if not variants:
        return ""
    parts = []
    for name, v in variants.items():
        changed = [k.replace("_", " ") for k in ("follow_up", "inclusion", "outcomes", "covariates", "analyses",
                                                   "comparison") if getattr(v, k, None) is not None]
        parts.append(f"{name.replace('_', ' ')}: {v.description or 'changes ' + ', '.join(changed)}")
    return "Sensitivity analyses, each re-running the whole study with one change: " + "; ".join(parts) + "."


def _provenance(versions: dict, provenance: dict | None) -> list[str]:
    soft = "Software: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."
    if not provenance:
        return [soft]
    text = soft
    if provenance.get("spec_hash"):
        text += f" Study specification SHA-256 hash {provenance['spec_hash']}."
    fps = provenance.get("data_fingerprint") or {}
    if fps:
        text += (f" Input data: data fingerprint (SHA-256 of the tables' row counts and content hashes) "
                 f"{fingerprint_digest(fps)}; " + "; ".join(
                     f"{t} table {_rows(fp.get('rows'))} rows" for t, fp in fps.items() if isinstance(fp, dict)) + ".")
    if provenance.get("engine"):
        text += f" Cohort built on the {provenance['engine']} engine."
    return [text]


def fingerprint_digest(fingerprint: dict) -> str:
    """One SHA-256 digest naming the input data: of the per-table row counts and content hashes (as JSON)."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _rows(v) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


def methods_text(study, versions: dict[str, str], provenance: dict | None = None) -> list[str]:
    """Paragraphs of the methods section (design, rules, follow-up, outcomes, analyses, variants, software)."""
    source = (provenance or {}).get("source")
    paras = [_design(study, source), _inclusion(study), _follow_up(study), _outcomes(study), _analysis(study),
             _controls(study), _variants(study), *_provenance(versions, provenance)]
    return [p for p in paras if p]


def zero_by_design_reason(study) -> str:
    """Why Charlson components may be empty: an inclusion rule excluding prior diagnoses of their codes."""
    from cohortstat.cohort.charlson import prefixes, COMPONENTS

    out = []
    for r in study.inclusion:
        if r.rule != "no_prior_concept":
            continue
        codes = set(study.concept_sets[r.concept_set].include)
        if any(p[:3] in codes or p in codes for c in COMPONENTS for p in prefixes(c)):
            out.append(f"excluded by the inclusion rule \"{r.description or r.id}\"")
    return "; ".join(out)
