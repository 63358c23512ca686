"""Public estimators: Cox, propensity scores, weighting and matching (imports only)."""

from cohortstat.models.cox import CoxPH, CoxResult
from cohortstat.models.matching import MatchResult, match
from cohortstat.models.ph_test import ph_test
from cohortstat.models.weighting import (
    PropensityScore,
    iptw_weights,
    overlap_weights,
    propensity_score,
    standardized_differences,
)

__all__ = [
    "CoxPH",
    "CoxResult",
    "MatchResult",
    "PropensityScore",
    "iptw_weights",
    "match",
    "overlap_weights",
    "ph_test",
    "propensity_score",
    "standardized_differences",
]
