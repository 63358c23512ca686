"""Input relations of the cohort builder, from any data source (:mod:`cohortstat.sources`).

Dates are carried through the cohort logic as integer day numbers (days since 1970-01-01): interval
arithmetic is then plain integer arithmetic, identical on DuckDB and Spark (docs/engines.md). The
source layer maps each layout (pmsi, snds, omop) onto the same relations; nothing below this module
knows which layout the data came from.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cohortstat.engines import Engine
from cohortstat.errors import DataSchemaError
from cohortstat.sources import Relations, get_source, resolve_source
from cohortstat.sources.base import study_years
from cohortstat.sources.pmsi import REQUIRED

__all__ = ["REQUIRED", "Inputs", "day_number", "load_inputs", "study_years"]

#: the builder's relations (kept under their former name)
Inputs = Relations
_EPOCH = dt.date(1970, 1, 1)


def day_number(value: dt.date) -> int:
    """Days since 1970-01-01 of a date."""
    return (value - _EPOCH).days


def load_inputs(engine: Engine, data: Path, source: str | None = None, cleaning=None,
                years_needed=()) -> Relations:
    """The builder's relations of the data folder ``data`` (layout ``source``, detected when None)."""
    data = Path(data)
    if not data.is_dir():
        raise DataSchemaError(f"data folder {data} does not exist")
    name = resolve_source(data, source)
    module = get_source(name)
    if name == "pmsi":
        return module.relations(engine, data, cleaning=cleaning)
    return module.relations(engine, data, cleaning=cleaning, years_needed=years_needed)
