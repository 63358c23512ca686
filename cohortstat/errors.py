"""One exception hierarchy and the warning classes of cohortstat.

Every error raised on user input is a subclass of :class:`CohortstatError` and its message
says what to do. Warnings are subclasses of :class:`CohortstatWarning`.
"""

from __future__ import annotations


class CohortstatError(Exception):
    """Base class of every error cohortstat raises on purpose."""


class SpecError(CohortstatError, ValueError):
    """The study file is invalid. ``errors`` lists every problem as ``(location, message)``."""

    def __init__(self, errors: list[tuple[str, str]] | str):
        if isinstance(errors, str):
            errors = [("", errors)]
        self.errors: tuple[tuple[str, str], ...] = tuple(errors)
        lines = [f"{loc}: {msg}" if loc else msg for loc, msg in self.errors]
        n = len(lines)
        head = f"the study file has {n} error{'s' if n != 1 else ''}:"
        super().__init__(head + "\n" + "\n".join(f"  - {line}" for line in lines))


class DataCheckError(CohortstatError):
    """Input data failed the data checks in strict mode. ``report`` holds the check report."""

    def __init__(self, message: str, report=None):
        self.report = report
        super().__init__(message)


class DataSchemaError(CohortstatError):
    """An input table is missing, or lacks a column the study needs, or has the wrong type."""


class ModelInputError(CohortstatError, ValueError):
    """Input to a model is unusable (NaN, negative times, entry >= exit, unknown column, ...)."""


class ConvergenceError(CohortstatError):
    """A model failed to converge and no estimate can be reported."""


class CohortError(CohortstatError):
    """The cohort could not be built (empty cohort, missing role in the data, ...)."""


class EngineError(CohortstatError):
    """The execution engine (DuckDB, Spark) is unavailable or failed."""


class ReportError(CohortstatError):
    """The report could not be written (output exists, disclosure check failed, ...)."""


class RerunMismatchError(CohortstatError):
    """A rerun produced numbers that differ from the frozen results."""


class CohortstatWarning(UserWarning):
    """Base class of cohortstat warnings."""


class ConvergenceWarning(CohortstatWarning):
    """The fit converged poorly (e.g. monotone likelihood: a coefficient running to infinity)."""


class DataCheckWarning(CohortstatWarning):
    """Data checks found anomalies (non-strict mode)."""


class BalanceWarning(CohortstatWarning):
    """A covariate is imbalanced (|SMD| > 0.1) after matching or weighting."""


class SmallCellWarning(CohortstatWarning):
    """Counts below the minimum cell size were suppressed."""


class CohortWarning(CohortstatWarning):
    """Something in the cohort deserves attention (a group with zero outcome events, ...)."""
