"""Data sources: each input layout mapped onto the cohort builder's relations as Ibis expressions.

- ``pmsi``: cohortstat's own simplified layout (``patients``, ``stays``, ``diagnoses``; data_schemas/pmsi.md);
- ``snds``: the SNDS PMSI-MCO tables ``T_MCOaaB/C/D/UM`` per year and ``IR_BEN_R`` (data_schemas/snds.md);
- ``omop``: an OMOP CDM v5.4 copy of a hospital data warehouse (data_schemas/omop.md).

Every layout may hold an optional ``deaths`` table (national death file linkage). See
:mod:`cohortstat.sources.base` for the relations every source produces and :func:`detect_source`.
"""

from cohortstat.sources.base import SOURCES, CleaningRule, Relations, get_source
from cohortstat.sources.detect import detect_source, resolve_source

__all__ = ["SOURCES", "CleaningRule", "Relations", "detect_source", "get_source", "resolve_source"]
