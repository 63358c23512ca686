"""cohortstat: retrospective cohort epidemiology on national-scale hospital data."""

from cohortstat._version import __version__

__all__ = ["__version__"]
