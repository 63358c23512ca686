"""The ``pmsi`` source: cohortstat's own simplified layout (data_schemas/pmsi.md).

``patients`` (patient_id, birth_year, sex, death_date), ``stays`` (stay_id, patient_id,
admission_date, discharge_date, discharge_mode) and ``diagnoses`` (stay_id, icd10_code, role), each as
parquet (a file or a folder of parts) or a ``;``-separated CSV; no cleaning rule applies.
"""

from __future__ import annotations

from pathlib import Path

import ibis.expr.datatypes as dt

from cohortstat.errors import DataSchemaError
from cohortstat.sources.base import Relations
from cohortstat.sources.deaths import read_deaths
from cohortstat.sources.files import as_string, day, list_tables, parse_date, read_table

#: table -> required columns
REQUIRED: dict[str, tuple[str, ...]] = {
    "patients": ("patient_id", "birth_year", "sex", "death_date"),
    "stays": ("stay_id", "patient_id", "admission_date", "discharge_date", "discharge_mode"),
    "diagnoses": ("stay_id", "icd10_code", "role"),
}
#: the names that identify this layout in a folder
MARKERS = ("PATIENTS", "STAYS", "DIAGNOSES")


def _table(engine, tables, folder: Path, name: str):
    tf = tables.get(name.upper())
    if tf is None:
        raise DataSchemaError(
            f"data folder {folder} has no table {name!r}: expected {name}.parquet (or a folder of "
            f"parquet files named {name}, or {name}.csv); generate data with `cohortstat synth` or "
            "point --data at the folder that holds patients, stays and diagnoses"
        )
    t = read_table(engine, tf)
    missing = [c for c in REQUIRED[name] if c not in t.columns]
    if missing:
        raise DataSchemaError(
            f"table {name!r} lacks column(s) {', '.join(missing)}; it has {', '.join(t.columns)}. "
            "See data_schemas/pmsi.md for the expected columns."
        )
    for col in ("birth_year", "sex"):
        if col in REQUIRED[name]:
            typ = t[col].type()
            if not (typ.is_integer() or typ.is_floating() or typ.is_null() or (typ.is_string() and tf.kind == "csv")):
                raise DataSchemaError(f"column {name}.{col} must be an integer, found {typ}")
    return t, f"table {name} ({tf.path.name})"


def relations(engine, folder: Path, cleaning=None) -> Relations:
    """The builder's relations from a pmsi-layout folder (``cleaning`` is ignored: no rule applies)."""
    folder = Path(folder)
    tables = list_tables(folder)
    (p, wp), (s, ws), (d, _) = (_table(engine, tables, folder, n) for n in REQUIRED)
    patients = p.select(
        patient_id=as_string(p.patient_id),
        birth_year=p.birth_year.cast(dt.float64).cast(dt.int64),
        sex=p.sex.cast(dt.float64).cast(dt.int64),
        death_day=day(parse_date(engine, p, "death_date", wp)),
        end_day=ibis_null_int(),
    )
    adm = parse_date(engine, s, "admission_date", ws)
    stays = s.select(
        stay_id=as_string(s.stay_id),
        patient_id=as_string(s.patient_id),
        adm=day(adm),
        dis=day(parse_date(engine, s, "discharge_date", ws)),
        adm_year=adm.year().cast(dt.int64),
        discharge_mode=s.discharge_mode.cast(dt.string),
    )
    diagnoses = d.select(
        stay_id=as_string(d.stay_id),
        icd10_code=d.icd10_code.cast(dt.string),
        role=d.role.cast(dt.string),
    )
    return Relations(patients=patients, stays=stays, diagnoses=diagnoses,
                     deaths=read_deaths(engine, folder, tables), source="pmsi")


def ibis_null_int():
    """A null int64 literal (no per-person end of data in this layout)."""
    import ibis

    return ibis.null(dt.int64)
