"""Errors of the multi-site workflow (subclasses of :class:`cohortstat.errors.CohortstatError`)."""

from __future__ import annotations

from cohortstat.errors import CohortstatError


class SitePackageError(CohortstatError):
    """A site package is unusable: missing file, unknown format, content hash mismatch (edited by hand)."""


class PoolError(CohortstatError):
    """Packages cannot be pooled as given (different spec hashes, a site without events or too small, ...)."""


class SiteStepRefused(CohortstatError):
    """A site refuses to answer a federated request (other study, too few persons, malformed request)."""
