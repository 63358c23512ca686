"""The STROBE / RECORD checklist of a report: each item, and where the report answers it or why it cannot.

STROBE (von Elm et al. 2007, cohort studies) and its RECORD extension for routinely collected health data
(Benchimol et al. 2015). Items the report cannot answer (title, rationale, study size, discussion,
funding) say so and who must answer them; items that depend on the study (sensitivity analyses,
confounding) are answered from it.

References
----------
von Elm E, et al. The Strengthening the Reporting of Observational Studies in Epidemiology (STROBE)
statement. Lancet 2007;370:1453-1457.
Benchimol EI, et al. The REporting of studies Conducted using Observational Routinely-collected health
Data (RECORD) statement. PLoS Med 2015;12:e1001885.
"""

from __future__ import annotations

from cohortstat.report.pubtables import Row, Table

__all__ = ["strobe_items", "strobe_table"]

_AUTHORS = "Not answerable by the report: for the authors of the manuscript"


def _analyses(study) -> tuple[str, str]:
    variants = getattr(study, "sensitivity", None) or {}
    sens = ("Methods (sensitivity analyses: " + ", ".join(n.replace("_", " ") for n in variants) + ")"
            if variants else "Not applicable: the study declares no sensitivity analysis")
    cf = study.analyses.confounding.method
    conf = ("Methods (adjusted models; propensity score " + {"matching": "matching", "iptw": "weighting (IPTW)",
                                                              "overlap": "overlap weighting"}.get(cf, cf)
            + "); Diagnostics (balance)" if cf != "none" else "Methods (crude and covariate-adjusted models)")
    return sens, conf


def strobe_items(study, data: dict) -> list[tuple[str, str, str]]:
    """``(item, recommendation, where the report answers it)`` for every STROBE and RECORD item."""
    sens, conf = _analyses(study)
    sub = ("Methods (subgroups: " + ", ".join(s.replace("_", " ") for s in study.analyses.subgroups) + ")"
           if study.analyses.subgroups
           else "Not applicable: the study declares no subgroup or interaction analysis")
    return [
        ("1a", "Study design indicated in the title or abstract", _AUTHORS + " (the report's title: " + data["title"]
         + "; design: Methods)"),
        ("1b", "Informative and balanced abstract", _AUTHORS),
        ("RECORD 1.1", "Type of data used named in the title or abstract", "Methods (data source); the title and abstract are for the authors of the manuscript"),
        ("RECORD 1.2", "Geographic region and time frame", "Study summary (study period); the region is for the authors of the manuscript"),
        ("RECORD 1.3", "Linkage between databases", "Not applicable: one database, no linkage"),
        ("2", "Scientific background and rationale", "Study summary (study description); the rationale is for the authors of the manuscript"),
        ("3", "Specific objectives and hypotheses", "Study summary (exposed and reference groups, outcomes); "
         "the hypotheses are for the authors of the manuscript"),
        ("4", "Key elements of study design", "Methods (design)"),
        ("5", "Setting, locations, relevant dates (recruitment, exposure, follow-up, data collection)",
         "Study summary (study period); Methods (follow-up, end of data)"),
        ("6a", "Eligibility criteria, sources and methods of selection; methods of follow-up",
         "Methods (design, inclusion rules, follow-up); Patient flow"),
        ("6b", "Matched studies: matching criteria and number of exposed and unexposed",
         "Methods (matching); Patient flow (matching step); Table 1 (after matching)"
         if study.analyses.confounding.method == "matching" else "Not applicable: not a matched study"),
        ("RECORD 6.1", "Codes and algorithms used to identify subjects", "Methods (ICD-10 code lists of the entry "
         "concept sets and inclusion rules)"),
        ("RECORD 6.2", "Validation studies of the codes and algorithms", "Not answerable by the report: cite "
         "validation studies of the code lists in the manuscript"),
        ("RECORD 6.3", "Linkage of databases (flow diagram)", "Not applicable: no linkage"),
        ("7", "Outcomes, exposures, predictors, potential confounders and effect modifiers defined",
         "Methods (outcomes, covariates, subgroups)"),
        ("RECORD 7.1", "Codes and algorithms for exposures, outcomes, confounders", "Methods (ICD-10 code lists)"),
        ("8", "Data sources and methods of measurement for each variable", "Methods (data source, code lists, "
         "lookback windows, Charlson coding)"),
        ("9", "Efforts to address potential sources of bias", "Methods (blanking period, prevalent cases excluded, "
         "E-values" + (", negative-control outcomes" if getattr(study, "negative_controls", ()) else "") + ")"),
        ("10", "How the study size was arrived at", "Not answerable by the report: the cohort is every eligible "
         "patient of the database (Patient flow); no sample-size calculation is made"),
        ("11", "Handling of quantitative variables, groupings chosen", "Methods (covariates); Table 1 (Charlson "
         "categories 0, 1-2, 3-4, 5+)"),
        ("12a", "Statistical methods, including confounding control", "Methods (statistical analysis); " + conf),
        ("12b", "Methods to examine subgroups and interactions", sub),
        ("12c", "How missing data were addressed", "Patient flow (exclusions, e.g. missing birth year under the age "
         "rule); Table 1 (missing-data rows); Limitations (data checks)"),
        ("12d", "Cohort study: how loss to follow-up was addressed", "Methods (follow-up ends at death or end of "
         "data; patients leaving the database are not observable in hospital data)"),
        ("12e", "Sensitivity analyses", sens),
        ("RECORD 12.1", "Extent of access to the database population", "Methods (data source); the extent of access is for the authors of the manuscript"),
        ("RECORD 12.2", "Data cleaning methods", "Limitations (data checks: named anomalies counted, not repaired)"),
        ("RECORD 12.3", "Linkage methods and quality", "Not applicable: no linkage"),
        ("13a", "Numbers of individuals at each stage", "Patient flow (figure and table)"),
        ("13b", "Reasons for non-participation at each stage", "Patient flow (the rule of each exclusion)"),
        ("13c", "Flow diagram", "Patient flow (figure)"),
        ("RECORD 13.1", "Selection of the population from the data (flow diagram)", "Patient flow"),
        ("14a", "Characteristics of participants and information on exposures and confounders", "Table 1"),
        ("14b", "Number of participants with missing data for each variable", "Table 1 (missing-data rows; a "
         "variable without such a row has no missing value)"),
        ("14c", "Follow-up time (average and total amount)", "Table 1 (follow-up median, IQR and person-years); "
         "Table 2 (person-years per outcome)"),
        ("15", "Numbers of outcome events or summary measures over time", "Table 2 (events, rates, cumulative "
         "incidence at 1, 5 and 10 years); Cumulative incidence figures"),
        ("16a", "Unadjusted and adjusted estimates with precision; confounders adjusted for", "Table 3 (crude and "
         "adjusted hazard ratios with 95% CI); Methods (adjustment covariates)"),
        ("16b", "Category boundaries of continuous variables", "Table 1 (Charlson categories); Methods"),
        ("16c", "Relative risk translated into absolute risk", "Table 2 (incidence rates and cumulative "
         "incidence per group)"),
        ("17", "Other analyses (subgroups, interactions, sensitivity)", "Estimates table (tables/estimates.csv)"
         if (variants_or_subgroups(study)) else "Not applicable: no other analysis declared"),
        ("18", "Key results with reference to objectives", _AUTHORS),
        ("19", "Limitations, sources of bias or imprecision", "Limitations (data checks and what they cannot "
         "detect); the discussion is for the authors of the manuscript"),
        ("RECORD 19.1", "Implications of using data not created for research", "Limitations (hospital diagnoses "
         "only, coding practice, deaths outside hospital)"),
        ("20", "Cautious overall interpretation", _AUTHORS),
        ("21", "Generalisability", _AUTHORS),
        ("22", "Funding and role of funders", _AUTHORS),
        ("RECORD 22.1", "Access to protocol, raw data and programming code", "Study summary (spec hash); "
         "study.lock.json and results.json in the report folder reproduce the run (cohortstat rerun)"),
    ]


def variants_or_subgroups(study) -> bool:
    a = study.analyses
    return bool(getattr(study, "sensitivity", None) or a.subgroups or a.periods
                or getattr(study, "negative_controls", ()))


def strobe_table(study, data: dict) -> Table:
    """The checklist as a publication table."""
    t = Table("STROBE-RECORD", "STROBE and RECORD checklist",
              [[("Item", 1), ("Recommendation", 1), ("Where the report answers it", 1)]], text_columns=(0, 1, 2))
    t.rows = [Row(list(item)) for item in strobe_items(study, data)]
    t.notes = ["STROBE statement for cohort studies (von Elm et al. 2007) with the RECORD extension for routinely "
               "collected health data (Benchimol et al. 2015). Items marked \"not answerable by the report\" are for "
               "the manuscript's authors; \"not applicable\" items do not apply to this study's design."]
    return t
