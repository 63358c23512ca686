"""cohortstat: retrospective cohort epidemiology on national-scale hospital data."""

from cohortstat._version import __version__
from cohortstat.analysis import analyze
from cohortstat.cohort import build_cohort
from cohortstat.report.figures import forest, plot_cif
from cohortstat.report.writer import write_report
from cohortstat.run import rerun, run
from cohortstat.spec import Study, freeze, load_lock, load_study, spec_hash

__all__ = [
    "Study",
    "__version__",
    "analyze",
    "build_cohort",
    "forest",
    "freeze",
    "load_lock",
    "load_study",
    "plot_cif",
    "rerun",
    "run",
    "spec_hash",
    "write_report",
]
