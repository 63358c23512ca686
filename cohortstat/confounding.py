"""Confounding control of a study; lives in :mod:`cohortstat.analysis.confounding` (this name re-exports it)."""

from cohortstat.analysis.confounding import (
    BALANCE_THRESHOLD,
    ConfoundingResult,
    adjust_for_confounding,
    covariate_columns,
)

__all__ = ["BALANCE_THRESHOLD", "ConfoundingResult", "adjust_for_confounding", "covariate_columns"]
