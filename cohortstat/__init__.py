"""cohortstat: retrospective cohort epidemiology on national-scale hospital data."""

from cohortstat._version import __version__
from cohortstat.cohort import build_cohort
from cohortstat.spec import Study, freeze, load_lock, load_study, spec_hash

__all__ = ["Study", "__version__", "build_cohort", "freeze", "load_lock", "load_study", "spec_hash"]
from cohortstat.analysis import analyze
from cohortstat.report.writer import write_report
from cohortstat.run import run
