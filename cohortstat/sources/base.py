"""The relations every source produces, and the registry of sources.

A source turns the files of a data folder into four Ibis relations on one engine (DuckDB or Spark);
the cohort logic only ever sees these. Dates are integer day numbers since 1970-01-01
(docs/engines.md).

- ``patients``: ``patient_id`` (string), ``birth_year``, ``sex`` (1 male, 2 female), ``death_day``
  (death recorded by the source itself, null if none), ``end_day`` (per-person end of data, null:
  the study's ``follow_up.end_of_data`` applies);
- ``stays``: ``stay_id``, ``patient_id``, ``adm``, ``dis``, ``adm_year``, ``discharge_mode``
  (``home``, ``transfer``, ``death``, ``other``);
- ``diagnoses``: ``stay_id``, ``icd10_code``, ``role`` (``principal``, ``related``, ``associated``);
- ``deaths`` (optional): ``patient_id``, ``death_day``, ``source`` from a national death file linkage.

``cleaning`` lists the source's cleaning rules that were applied, each with an expression that counts
the records it removed (evaluated by the data checks and for the report's data notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

import ibis

from cohortstat.errors import DataSchemaError

#: source name -> module implementing ``relations(engine, folder, cleaning=None)``
SOURCES: dict[str, str] = {
    "pmsi": "cohortstat.sources.pmsi",
    "snds": "cohortstat.sources.snds",
    "omop": "cohortstat.sources.omop",
}


@dataclass(frozen=True)
class CleaningRule:
    """One cleaning rule of a source: its name, what it does, where it comes from, what it removed.

    ``removed`` is an Ibis scalar expression (the number of records removed) or None when the rule
    was switched off; ``unit`` says what is counted (``stays``, ``diagnoses``, ``rows``).
    """

    name: str
    description: str
    reference: str
    removed: object = None
    unit: str = "stays"
    enabled: bool = True


@dataclass(frozen=True)
class SourceAnomaly:
    """A layout-specific data check: ``count`` (Ibis scalar) records, ``examples`` (Ibis column of keys)."""

    name: str
    table: str
    severity: str
    description: str
    count: object
    examples: object = None


@dataclass(frozen=True)
class Relations:
    """The builder's input relations (Ibis tables on one engine); see the module docstring."""

    patients: ibis.Table
    stays: ibis.Table
    diagnoses: ibis.Table
    deaths: ibis.Table | None = None
    source: str = "pmsi"
    cleaning: tuple[CleaningRule, ...] = ()
    anomalies: tuple[SourceAnomaly, ...] = field(default=())
    #: True when the relations are derived (joins, unions): the builder computes them once
    materialize: bool = False


def get_source(name: str):
    """The module of source ``name`` (``pmsi``, ``snds``, ``omop``)."""
    if name not in SOURCES:
        raise DataSchemaError(f"unknown data source {name!r}: use one of {', '.join(SOURCES)}")
    return import_module(SOURCES[name])


def study_years(study) -> tuple[int, ...]:
    """Calendar years of data a study needs: from its study period's start to its end of data."""
    if study is None:
        return ()
    return tuple(range(study.study_period.start.year, study.follow_up.end_of_data.year + 1))
