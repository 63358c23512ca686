"""Public estimators: Cox, Fine-Gray, nonparametric curves, propensity scores, weighting and matching
(imports only)."""

from cohortstat.models._results import RegressionResult, TestResult
from cohortstat.models.concordance import ConcordanceResult, concordance
from cohortstat.models.cox import CoxPH, CoxResult
from cohortstat.models.design import ColumnSpec, DesignSpec
from cohortstat.models.finegray import FineGray, FineGrayResult
from cohortstat.models.logrank import LogrankResult, logrank_test
from cohortstat.models.matching import MatchResult, match
from cohortstat.models.nonparametric import aalen_johansen, gray_test, kaplan_meier
from cohortstat.models.ph_test import ph_test
from cohortstat.models.weighting import (
    PropensityScore,
    iptw_weights,
    overlap_weights,
    propensity_score,
    standardized_differences,
)

__all__ = [
    "ColumnSpec",
    "ConcordanceResult",
    "CoxPH",
    "CoxResult",
    "DesignSpec",
    "FineGray",
    "FineGrayResult",
    "LogrankResult",
    "MatchResult",
    "PropensityScore",
    "RegressionResult",
    "TestResult",
    "aalen_johansen",
    "concordance",
    "gray_test",
    "iptw_weights",
    "kaplan_meier",
    "logrank_test",
    "match",
    "overlap_weights",
    "ph_test",
    "propensity_score",
    "standardized_differences",
]
