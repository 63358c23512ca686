"""The input tables as code: pyarrow schemas of ``patients``, ``stays`` and ``diagnoses``.

The data folder holds one parquet file per table (``<table>.parquet``). Columns, types and allowed
values follow ``data_schemas/pmsi.md`` (PMSI/SNDS origin of every column). The schemas are the
contract shared by the generator (:mod:`cohortstat.data.synth`), the data checks
(:mod:`cohortstat.data.checks`) and the cohort builder.
"""

from __future__ import annotations

import pyarrow as pa

#: patients: one row per pseudonymous patient (SNDS pseudonymous identifier, NIR hashed)
PATIENTS = pa.schema(
    [
        pa.field("patient_id", pa.string(), nullable=False),
        pa.field("birth_year", pa.int32(), nullable=True),
        pa.field("sex", pa.int8(), nullable=False),
        pa.field("death_date", pa.date32(), nullable=True),
    ]
)

#: stays: one row per hospital stay (PMSI RSA / sejour)
STAYS = pa.schema(
    [
        pa.field("stay_id", pa.string(), nullable=False),
        pa.field("patient_id", pa.string(), nullable=False),
        pa.field("admission_date", pa.date32(), nullable=False),
        pa.field("discharge_date", pa.date32(), nullable=False),
        pa.field("discharge_mode", pa.string(), nullable=False),
    ]
)

#: diagnoses: one row per ICD-10 code of a stay (DP, DR, DAS)
DIAGNOSES = pa.schema(
    [
        pa.field("stay_id", pa.string(), nullable=False),
        pa.field("icd10_code", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
    ]
)

#: table name -> schema, in the order tables are read and checked
SCHEMAS: dict[str, pa.Schema] = {"patients": PATIENTS, "stays": STAYS, "diagnoses": DIAGNOSES}

#: key columns of each table (never null)
KEYS: dict[str, tuple[str, ...]] = {
    "patients": ("patient_id",),
    "stays": ("stay_id", "patient_id"),
    "diagnoses": ("stay_id",),
}

#: SNDS coding of sex: 1 male, 2 female
SEX_VALUES: tuple[int, ...] = (1, 2)
#: discharge modes (PMSI "mode de sortie": domicile, mutation/transfert, deces, autre)
DISCHARGE_MODES: tuple[str, ...] = ("home", "transfer", "death", "other")
#: diagnosis roles: principal (DP), related (DR), associated (DAS)
ROLES: tuple[str, ...] = ("principal", "related", "associated")
#: an ICD-10 code as PMSI stores it: upper case, no dot, a letter, two digits, up to 3 more characters
ICD10_PATTERN = r"^[A-Z][0-9]{2}[0-9A-Z]{0,3}$"


def file_name(table: str) -> str:
    """The parquet file name of ``table`` inside a data folder."""
    return f"{table}.parquet"
