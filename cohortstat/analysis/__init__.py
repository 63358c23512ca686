"""The analysis layer: every statistic of a study, computed from its cohort (imports only).

``analyze(study, cohort)`` runs what the study declares and returns an immutable
:class:`StudyResults`; the report (``cohortstat.report``) only renders and suppresses it.
"""

from cohortstat.analysis.balance import balance_table, smd, smd_multinomial, smd_proportions
from cohortstat.analysis.confounding import ConfoundingResult, adjust_for_confounding, covariate_columns
from cohortstat.analysis.estimates import estimates_table
from cohortstat.analysis.evalue import e_value
from cohortstat.analysis.rates import incidence_rate, poisson_exact_ci, weighted_incidence_rate
from cohortstat.analysis.results import OutcomeResults, StudyResults
from cohortstat.analysis.study import analyze, model_covariates
from cohortstat.analysis.table_one import table_one
from cohortstat.analysis.variants import analyze_variants

__all__ = [
    "ConfoundingResult",
    "OutcomeResults",
    "StudyResults",
    "adjust_for_confounding",
    "analyze",
    "analyze_variants",
    "balance_table",
    "covariate_columns",
    "e_value",
    "estimates_table",
    "incidence_rate",
    "model_covariates",
    "poisson_exact_ci",
    "smd",
    "smd_multinomial",
    "smd_proportions",
    "table_one",
    "weighted_incidence_rate",
]
