"""Cohort builder: study + PMSI-like data -> analysis table and attrition (DuckDB or Spark)."""

from cohortstat.cohort.builder import Cohort, build_cohort, output_columns

__all__ = ["Cohort", "build_cohort", "output_columns"]
