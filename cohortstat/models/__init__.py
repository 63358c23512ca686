"""Public estimators: Cox, Fine-Gray, nonparametric curves, propensity scores, weighting and matching
(imports only)."""

from cohortstat.models._results import RegressionResult, TestResult
from cohortstat.models.calibration import (
    NullDistribution,
    SystematicErrorModel,
    calibrate_ci,
    calibrate_estimates,
    calibrate_p,
    fit_null,
    fit_systematic_error_model,
    leave_one_out_p,
)
from cohortstat.models.concordance import ConcordanceResult, concordance
from cohortstat.models.cox import CoxPH, CoxResult
from cohortstat.models.design import ColumnSpec, DesignSpec
from cohortstat.models.diagnostics import (
    CifSumCheck,
    check_cif_sum,
    cif_on_grid,
    equipoise,
    follow_up_distribution,
    mdrr_table,
    minimum_detectable_rr,
    preference_score,
)
from cohortstat.models.finegray import FineGray, FineGrayResult
from cohortstat.models.logrank import LogrankResult, logrank_test
from cohortstat.models.matching import MatchResult, match
from cohortstat.models.nonparametric import aalen_johansen, gray_test, kaplan_meier
from cohortstat.models.periods import PeriodResult, check_periods, period_hazard_ratios, split_periods
from cohortstat.models.ph_test import ph_test
from cohortstat.models.sir import SIRResult, check_reference_rates, poisson_exact, standardized_incidence_ratio
from cohortstat.models.subgroups import SubgroupResult, cut_bands, subgroup_hazard_ratios
from cohortstat.models.weighting import (
    PropensityScore,
    iptw_weights,
    overlap_weights,
    propensity_score,
)
__all__ = [
    "CifSumCheck",
    "ColumnSpec",
    "ConcordanceResult",
    "CoxPH",
    "CoxResult",
    "DesignSpec",
    "FineGray",
    "FineGrayResult",
    "LogrankResult",
    "MatchResult",
    "NullDistribution",
    "PeriodResult",
    "PropensityScore",
    "RegressionResult",
    "SIRResult",
    "SubgroupResult",
    "SystematicErrorModel",
    "TestResult",
    "aalen_johansen",
    "calibrate_ci",
    "calibrate_estimates",
    "calibrate_p",
    "check_cif_sum",
    "check_periods",
    "check_reference_rates",
    "cif_on_grid",
    "concordance",
    "cut_bands",
    "equipoise",
    "fit_null",
    "fit_systematic_error_model",
    "follow_up_distribution",
    "gray_test",
    "iptw_weights",
    "kaplan_meier",
    "leave_one_out_p",
    "logrank_test",
    "match",
    "mdrr_table",
    "minimum_detectable_rr",
    "overlap_weights",
    "period_hazard_ratios",
    "ph_test",
    "poisson_exact",
    "preference_score",
    "propensity_score",
    "split_periods",
    "standardized_incidence_ratio",
    "subgroup_hazard_ratios",
]
