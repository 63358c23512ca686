"""Input tables: locate the parquet files, check their columns, normalise dates to day numbers.

Dates are carried through the cohort logic as integer day numbers (days since 1970-01-01): interval
arithmetic is then plain integer arithmetic, identical on DuckDB and Spark (docs/engines.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.datatypes as dtypes

from cohortstat.cohort.engines import Engine
from cohortstat.errors import DataSchemaError

#: table -> required columns (DESIGN.md "Input data")
REQUIRED: dict[str, tuple[str, ...]] = {
    "patients": ("patient_id", "birth_year", "sex", "death_date"),
    "stays": ("stay_id", "patient_id", "admission_date", "discharge_date", "discharge_mode"),
    "diagnoses": ("stay_id", "icd10_code", "role"),
}
_DATE_COLUMNS = {"death_date", "admission_date", "discharge_date"}
_EPOCH = dt.date(1970, 1, 1)


def day_number(value: dt.date) -> int:
    """Days since 1970-01-01 of a date."""
    return (value - _EPOCH).days


@dataclass(frozen=True)
class Inputs:
    """Normalised input tables (Ibis expressions on one engine).

    ``patients``: patient_id, birth_year, sex, death_day; ``stays``: stay_id, patient_id, adm, dis,
    discharge_mode, adm_year; ``diagnoses``: stay_id, icd10_code, role.
    """

    patients: ibis.Table
    stays: ibis.Table
    diagnoses: ibis.Table


def _locate(data: Path, table: str) -> Path:
    for candidate in (data / f"{table}.parquet", data / table):
        if candidate.exists():
            return candidate
    raise DataSchemaError(
        f"data folder {data} has no table {table!r}: expected {table}.parquet (or a folder of "
        f"parquet files named {table}); generate data with `cohortstat synth` or point --data at "
        "the folder that holds patients, stays and diagnoses"
    )


def _check_columns(table: str, t: ibis.Table) -> None:
    schema = t.schema()
    missing = [c for c in REQUIRED[table] if c not in schema]
    if missing:
        raise DataSchemaError(
            f"table {table!r} lacks column(s) {', '.join(missing)}; it has "
            f"{', '.join(schema.names)}. See data_schemas/ for the expected columns."
        )
    for col in REQUIRED[table]:
        typ = schema[col]
        if col in _DATE_COLUMNS and not (typ.is_date() or typ.is_timestamp() or typ.is_null()):
            raise DataSchemaError(f"column {table}.{col} must be a date, found {typ}")
        if col in ("birth_year", "sex") and not (typ.is_integer() or typ.is_floating() or typ.is_null()):
            raise DataSchemaError(f"column {table}.{col} must be an integer, found {typ}")


def _day(col: ibis.Column) -> ibis.Column:
    if col.type().is_null():
        return ibis.null().cast(dtypes.int64)
    if col.type().is_timestamp():
        col = col.date()
    return col.epoch_days().cast(dtypes.int64)


def load_inputs(engine: Engine, data: Path) -> Inputs:
    """Register the three input tables of ``data`` on ``engine`` and check their columns."""
    data = Path(data)
    if not data.is_dir():
        raise DataSchemaError(f"data folder {data} does not exist")
    raw = {}
    for table in REQUIRED:
        t = engine.read_parquet(_locate(data, table), table)
        _check_columns(table, t)
        raw[table] = t
    p, s, d = raw["patients"], raw["stays"], raw["diagnoses"]
    patients = p.select(
        patient_id=p.patient_id.cast("string"),
        birth_year=p.birth_year.cast(dtypes.int64),
        sex=p.sex.cast(dtypes.int64),
        death_day=_day(p.death_date),
    )
    adm = s.admission_date.date() if s.admission_date.type().is_timestamp() else s.admission_date
    stays = s.select(
        stay_id=s.stay_id.cast("string"),
        patient_id=s.patient_id.cast("string"),
        adm=_day(s.admission_date),
        dis=_day(s.discharge_date),
        adm_year=adm.year().cast(dtypes.int64),
        discharge_mode=s.discharge_mode.cast("string"),
    )
    diagnoses = d.select(
        stay_id=d.stay_id.cast("string"),
        icd10_code=d.icd10_code.cast("string"),
        role=d.role.cast("string"),
    )
    return Inputs(patients=patients, stays=stays, diagnoses=diagnoses)
