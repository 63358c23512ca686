"""Which layout a data folder holds, from the names of its tables.

- ``pmsi``: ``patients``, ``stays`` and ``diagnoses``;
- ``snds``: at least one ``T_MCOaaB``/``C``/``D``/``UM`` table or ``IR_BEN_R``;
- ``omop``: at least one of ``person``, ``visit_occurrence``, ``condition_occurrence``.

A folder matching none, or more than one, is refused with one error naming what was found and what
each layout expects.
"""

from __future__ import annotations

import re
from pathlib import Path

from cohortstat.errors import DataSchemaError
from cohortstat.sources.base import SOURCES
from cohortstat.sources.files import list_tables

_SNDS = re.compile(r"T_MCO\d{2}(B|C|D|UM)|IR_BEN_R")
_OMOP = {"PERSON", "VISIT_OCCURRENCE", "CONDITION_OCCURRENCE", "OBSERVATION_PERIOD"}
_PMSI = {"PATIENTS", "STAYS", "DIAGNOSES"}
EXPECTED = {
    "pmsi": "patients.parquet, stays.parquet and diagnoses.parquet (data_schemas/pmsi.md)",
    "snds": "T_MCOaaB, T_MCOaaC, T_MCOaaD, T_MCOaaUM per year aa and IR_BEN_R (data_schemas/snds.md)",
    "omop": "person, visit_occurrence, condition_occurrence, death, observation_period (data_schemas/omop.md)",
}


def _matches(names: set[str]) -> dict[str, list[str]]:
    return {
        "pmsi": sorted(names & _PMSI),
        "snds": sorted(n for n in names if _SNDS.fullmatch(n)),
        "omop": sorted(names & _OMOP),
    }


def detect_source(folder: str | Path) -> str:
    """The layout of ``folder`` (``pmsi``, ``snds`` or ``omop``); :class:`DataSchemaError` otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataSchemaError(f"data folder {folder} does not exist (or is not a folder)")
    names = set(list_tables(folder))
    hits = {k: v for k, v in _matches(names).items() if v}
    if len(hits) == 1:
        return next(iter(hits))
    expected = "; ".join(f"{k}: {v}" for k, v in EXPECTED.items())
    if not hits:
        shown = ", ".join(sorted(names)[:10]) or "no parquet or CSV table"
        raise DataSchemaError(
            f"cannot tell which data layout {folder} holds (found: {shown}). Expected one of - "
            f"{expected}. Point --data at the folder holding the tables, or pass --source."
        )
    mixed = "; ".join(f"{k} ({', '.join(v[:4])})" for k, v in hits.items())
    raise DataSchemaError(
        f"{folder} mixes tables of several layouts: {mixed}. Keep one layout per folder, or pass "
        "--source to say which one to read."
    )


def resolve_source(folder: str | Path, source: str | None) -> str:
    """``source`` when given (checked against the known sources), else :func:`detect_source`."""
    if source is None:
        return detect_source(folder)
    if source not in SOURCES:
        raise DataSchemaError(f"unknown data source {source!r}: use one of {', '.join(SOURCES)}")
    if not Path(folder).is_dir():
        raise DataSchemaError(f"data folder {folder} does not exist (or is not a folder)")
    return source
