"""report.html: one self-contained file (inline CSS and SVG, no script, font or URL) rendered with Jinja2.

The template reads the *suppressed* data of :func:`cohortstat.report.writer.suppress_results` only; the
methods paragraph is generated from the study spec.
"""

from __future__ import annotations

import math
import platform
from importlib import metadata

import jinja2
from markupsafe import Markup

from cohortstat.report.safe_text import plain

__all__ = ["methods_text", "render_html", "software_versions"]

_PACKAGES = ("cohortstat", "numpy", "pandas", "scipy", "statsmodels", "duckdb", "ibis-framework", "matplotlib",
             "jinja2", "pyspark")


def software_versions() -> dict[str, str]:
    """Python and the versions of the packages a run depends on (installed or importable)."""
    out = {"python": platform.python_version()}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            if p == "cohortstat":
                from cohortstat._version import __version__

                out[p] = __version__
    return out


def _codes(cs) -> str:
    text = ", ".join(cs.include)
    if cs.exclude:
        text += " (excluding " + ", ".join(cs.exclude) + ")"
    return text


def methods_text(study, versions: dict[str, str]) -> list[str]:
    """Paragraphs of the methods section, generated from the spec (windows, codes, models, software)."""
    c = study.comparison
    sets = study.concept_sets
    paras = []
    coh = []
    for name, cohort in study.cohorts.items():
        codes = "; ".join(f"{s}: {_codes(sets[s])}" for s in cohort.entry.concept_sets)
        coh.append(f"{cohort.label} (first stay between {study.study_period.start} and {study.study_period.end}"
                   f" with a {'/'.join(cohort.entry.roles)} diagnosis in {codes})")
    paras.append(
        f"Design: retrospective cohort comparing {coh[0] if coh else c.exposed} with "
        f"{coh[1] if len(coh) > 1 else c.reference}. Patients qualifying for both groups: {c.in_both}."
    )
    rules = []
    for r in study.inclusion:
        extra = ""
        if r.rule == "age_at_index":
            extra = f" (age {r.min_years}{'-' + str(r.max_years) if r.max_years else '+'})"
        elif r.rule == "no_prior_concept":
            extra = f" ({r.concept_set}: {_codes(sets[r.concept_set])}; lookback {r.lookback_days} days)"
        elif r.rule == "alive_at_landmark":
            extra = f" ({r.days} days)"
        rules.append(f"{r.description}{extra}")
    paras.append("Inclusion rules, in order: " + "; ".join(rules) + ".")
    f = study.follow_up
    paras.append(
        f"Follow-up starts at index {f.anchor} + {f.offset_days} days; events in the first {f.blanking_days} days"
        f" (blanking period) are not counted and the patient must be alive and event-free at its end; follow-up"
        f" ends at death, the end of data ({f.end_of_data})"
        + (f" or after {f.max_days} days" if f.max_days else "") + "."
    )
    outs = "; ".join(f"{o.label} ({_codes(sets[o.concept_set])}, roles {'/'.join(o.roles)})"
                     for o in study.outcomes.values())
    paras.append(f"Outcomes (first occurrence, prevalent cases excluded): {outs}. Competing event: "
                 f"{', '.join(study.competing_events)}.")
    cov = study.covariates
    names = [n for n, on in (("age", cov.age), ("sex", cov.sex), ("calendar year", cov.calendar_year),
                             ("Charlson score (Quan 2005 ICD-10 coding)", cov.charlson)) if on]
    names += [f"{fl.name} ({_codes(sets[fl.concept_set])}, lookback {fl.lookback_days} days)" for fl in cov.flags]
    a = study.analyses
    cf = a.confounding
    paras.append(
        "Statistical analysis: incidence rates per 1000 person-years with exact Poisson (Garwood) 95% CIs; "
        "cumulative incidence by the Aalen-Johansen estimator with Gray's test; cause-specific Cox models "
        f"({a.cox.ties} ties, {a.cox.variance} variance"
        + (f", stratified on {', '.join(a.cox.strata)}" if a.cox.strata else "")
        + f") and Fine-Gray subdistribution hazard models ({a.fine_gray.variance} variance), crude and adjusted "
        f"for {', '.join(names) or 'no covariate'}; proportional hazards tested by scaled Schoenfeld residuals "
        f"({a.ph_test.transform} transform, alpha {a.ph_test.alpha}). E-values (VanderWeele and Ding 2017) for "
        "the exposure hazard ratios."
        + ("" if cf.method == "none" else
           f" Confounding control by propensity score ({cf.method}"
           + (f", 1:{cf.ratio} nearest neighbour within {cf.caliper_sd} SD of the logit,"
              f" exact on {', '.join(cf.exact) or 'nothing'}" if cf.method == "matching" else
              f", {'stabilized' if cf.stabilized else 'unstabilized'} weights" if cf.method == "iptw" else "")
           + "), with robust variance and balance assessed by standardized mean differences.")
    )
    paras.append("Software: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
    return paras


def _num(v, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if not math.isfinite(v):
        return "-"
    return f"{v:,.{digits}f}"


def _p(v) -> str:
    if v is None:
        return "-"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _finalize(value):
    """Every value printed by the template, without control characters (then HTML-escaped)."""
    if isinstance(value, Markup):
        return Markup(plain(str(value)))
    if isinstance(value, str):
        return plain(value)
    return value


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("cohortstat.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    finalize=_finalize,
)
_ENV.filters["num"] = _num
_ENV.filters["p"] = _p


def render_html(results, data: dict, svgs: dict[str, str]) -> str:
    """The report as one HTML string (data: suppressed results; svgs: figure name -> SVG text)."""
    versions = (data.get("provenance") or {}).get("versions") or software_versions()
    template = _ENV.get_template("report.html.j2")
    return template.render(
        d=data,
        study=results.study,
        methods=methods_text(results.study, versions),
        figures={k: Markup(v) for k, v in svgs.items()},
        model_labels={
            "cox_crude": "Cox, crude", "cox_adjusted": "Cox, adjusted", "cox_ps": "Cox, PS-adjusted",
            "fg_crude": "Fine-Gray, crude", "fg_adjusted": "Fine-Gray, adjusted", "fg_ps": "Fine-Gray, PS-adjusted",
        },
    )
