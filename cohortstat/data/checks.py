"""Data checks: schema conformity and named anomalies of a PMSI-like data folder, in DuckDB.

:func:`check_data` reads ``patients.parquet``, ``stays.parquet`` and ``diagnoses.parquet`` with
DuckDB (never pandas) and returns a frozen :class:`DataCheckReport`: one row per check with the
number of offending records and up to five example ids, in the spirit of R ``survival::survcheck``
(named anomaly counts). Checks and their meaning are listed in ``CHECKS`` and data_schemas/pmsi.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from cohortstat.data import schema
from cohortstat.errors import DataCheckError

__all__ = ["CHECKS", "CheckRow", "DataCheckReport", "check_data"]

MAX_EXAMPLES = 5

#: name -> (table, severity, description)
CHECKS: dict[str, tuple[str, str, str]] = {
    "missing_table": ("*", "error", "the parquet file of a table is missing or unreadable"),
    "missing_column": ("*", "error", "a required column is missing"),
    "wrong_type": ("*", "error", "a column has a type that cannot stand for the declared one"),
    "empty_table": ("*", "error", "a table has no rows"),
    "null_key": ("*", "error", "a key column (patient_id, stay_id) is null"),
    "duplicate_patient_id": ("patients", "error", "a patient_id appears on more than one row"),
    "duplicate_stay_id": ("stays", "error", "a stay_id appears on more than one row"),
    "stay_unknown_patient": ("stays", "error", "a stay's patient_id is not in patients"),
    "diagnosis_unknown_stay": ("diagnoses", "error", "a diagnosis' stay_id is not in stays"),
    "discharge_before_admission": ("stays", "error", "discharge_date is before admission_date"),
    "stay_after_death": ("stays", "error", "a stay is admitted or discharged after the patient's death_date"),
    "birth_after_admission": ("stays", "error", "the patient's birth_year is after the admission year"),
    "invalid_sex": ("patients", "error", "sex is not 1 (male) or 2 (female)"),
    "invalid_role": ("diagnoses", "error", "role is not principal, related or associated"),
    "malformed_icd10_code": ("diagnoses", "error",
                             "icd10_code is null or not upper case without dot (letter, 2 digits, <= 3 more)"),
    "invalid_discharge_mode": ("stays", "warning", "discharge_mode is not home, transfer, death or other"),
}

#: accepted DuckDB types per declared arrow type
_ACCEPT = {
    "string": {"VARCHAR"},
    "int32": {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "HUGEINT"},
    "int8": {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "HUGEINT"},
    "date32[day]": {"DATE"},
}


@dataclass(frozen=True)
class CheckRow:
    """One check: its name, table, number of offending records, up to 5 example ids, severity."""

    name: str
    table: str
    count: int
    examples: tuple[str, ...]
    severity: str
    description: str


@dataclass(frozen=True)
class DataCheckReport:
    """Result of :func:`check_data`: every check run, with counts (0 when clean)."""

    data_dir: str
    rows: tuple[CheckRow, ...]

    @property
    def anomalies(self) -> tuple[CheckRow, ...]:
        """Rows with at least one offending record."""
        return tuple(r for r in self.rows if r.count > 0)

    @property
    def ok(self) -> bool:
        """True when no check found anything."""
        return not self.anomalies

    @property
    def has_schema_errors(self) -> bool:
        """True when a table or column is missing, has the wrong type, or a table is empty."""
        return any(r.name in ("missing_table", "missing_column", "wrong_type", "empty_table")
                   for r in self.anomalies)

    def count(self, name: str, table: str | None = None) -> int:
        """Total count of check ``name`` (optionally for one table)."""
        return sum(r.count for r in self.rows if r.name == name and (table is None or r.table == table))

    def to_frame(self) -> pd.DataFrame:
        """One row per check: name, table, count, examples (tuple of ids), severity, description."""
        cols = ["name", "table", "count", "examples", "severity", "description"]
        return pd.DataFrame([[getattr(r, c) for c in cols] for r in self.rows], columns=cols)

    def to_dict(self) -> dict:
        return {"data_dir": self.data_dir, "ok": self.ok,
                "checks": [{**r.__dict__, "examples": list(r.examples)} for r in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        """A plain-text table: anomalies first, then the clean checks on one line."""
        lines = [f"data checks of {self.data_dir}: " + ("no anomaly" if self.ok else
                                                         f"{len(self.anomalies)} anomal{'y' if len(self.anomalies) == 1 else 'ies'}")]
        for r in self.anomalies:
            ex = f" e.g. {', '.join(r.examples)}" if r.examples else ""
            lines.append(f"  {r.severity.upper():7} {r.name} [{r.table}]: {r.count}{ex} - {r.description}")
        clean = [f"{r.name}[{r.table}]" if r.name in ("null_key", "empty_table") else r.name
                 for r in self.rows if r.count == 0]
        if clean:
            lines.append("  passed: " + ", ".join(clean))
        return "\n".join(lines)

    def error_message(self) -> str:
        items = [f"  - {r.name} [{r.table}]: {r.count}" + (f" (e.g. {', '.join(r.examples)})" if r.examples else "")
                 for r in self.anomalies]
        return (f"data in {self.data_dir} failed {len(items)} check(s):\n" + "\n".join(items)
                + "\nFix the data (see data_schemas/pmsi.md) or run check-data without --strict for the full report.")


def _row(name: str, table: str | None, count: int, examples=()) -> CheckRow:
    t, sev, desc = CHECKS[name]
    return CheckRow(name, table or t, int(count), tuple(str(e) for e in examples)[:MAX_EXAMPLES], sev, desc)


class _Checker:
    def __init__(self, folder: Path):
        self.folder = folder
        self.con = duckdb.connect(config={"threads": 2})
        self.rows: list[CheckRow] = []
        self.usable: set[str] = set()  # tables present with every column of a usable type

    def q(self, sql: str):
        return self.con.execute(sql).fetchall()

    def schema(self) -> None:
        for t, sch in schema.SCHEMAS.items():
            path = self.folder / schema.file_name(t)
            try:
                if not path.is_file():
                    raise FileNotFoundError(path)
                lit = str(path).replace("'", "''")
                self.con.execute(f"CREATE VIEW {t} AS SELECT *, file_row_number AS _row "
                                 f"FROM read_parquet('{lit}', file_row_number = true)")
                cols = {r[0]: r[1] for r in self.q(f"DESCRIBE {t}")}
            except (FileNotFoundError, duckdb.Error):
                self.rows.append(_row("missing_table", t, 1, [schema.file_name(t)]))
                continue
            missing = [f.name for f in sch if f.name not in cols]
            wrong = [f"{f.name}: {cols[f.name]} (expected {f.type})" for f in sch
                     if f.name in cols and cols[f.name] not in _ACCEPT[str(f.type)]]
            if missing:
                self.rows.append(_row("missing_column", t, len(missing), missing))
            if wrong:
                self.rows.append(_row("wrong_type", t, len(wrong), wrong))
            n = self.q(f"SELECT count(*) FROM {t}")[0][0]
            self.rows.append(_row("empty_table", t, int(n == 0), [t] if n == 0 else []))
            if not missing and not wrong:
                self.usable.add(t)

    def check(self, name: str, table: str, needs: tuple[str, ...], count_sql: str, examples_sql: str) -> None:
        if not set(needs) <= self.usable:
            return
        n = self.q(count_sql)[0][0]
        ex = [r[0] for r in self.q(examples_sql + f" LIMIT {MAX_EXAMPLES}")] if n else []
        self.rows.append(_row(name, table, n, ex))

    def row_check(self, name: str, table: str, needs: tuple[str, ...], from_where: str, id_expr: str) -> None:
        """Count rows of ``FROM ... WHERE ...``; examples are distinct ``id_expr`` values."""
        self.check(name, table, needs, f"SELECT count(*) {from_where}",
                   f"SELECT DISTINCT {id_expr} AS i {from_where} ORDER BY i")

    def content(self) -> None:
        for t, keys in schema.KEYS.items():
            cond = " OR ".join(f"{k} IS NULL" for k in keys)
            self.row_check("null_key", t, (t,), f"FROM {t} WHERE {cond}", "'row ' || _row")
        for name, t, k in (("duplicate_patient_id", "patients", "patient_id"), ("duplicate_stay_id", "stays", "stay_id")):
            sub = f"FROM (SELECT {k} FROM {t} WHERE {k} IS NOT NULL GROUP BY {k} HAVING count(*) > 1) d"
            self.check(name, t, (t,), f"SELECT count(*) {sub}", f"SELECT {k} {sub} ORDER BY {k}")
        self.row_check("stay_unknown_patient", "stays", ("stays", "patients"),
                       "FROM stays s WHERE s.patient_id IS NOT NULL AND NOT EXISTS "
                       "(SELECT 1 FROM patients p WHERE p.patient_id = s.patient_id)", "s.stay_id")
        self.row_check("diagnosis_unknown_stay", "diagnoses", ("diagnoses", "stays"),
                       "FROM diagnoses d WHERE d.stay_id IS NOT NULL AND NOT EXISTS "
                       "(SELECT 1 FROM stays s WHERE s.stay_id = d.stay_id)", "d.stay_id")
        self.row_check("discharge_before_admission", "stays", ("stays",),
                       "FROM stays WHERE discharge_date < admission_date", "stay_id")
        self.row_check("stay_after_death", "stays", ("stays", "patients"),
                       "FROM stays s JOIN patients p ON p.patient_id = s.patient_id "
                       "WHERE greatest(s.admission_date, s.discharge_date) > p.death_date", "s.stay_id")
        self.row_check("birth_after_admission", "stays", ("stays", "patients"),
                       "FROM stays s JOIN patients p ON p.patient_id = s.patient_id "
                       "WHERE year(s.admission_date) < p.birth_year", "s.stay_id")
        self.row_check("invalid_sex", "patients", ("patients",),
                       "FROM patients WHERE sex IS NULL OR sex NOT IN (1, 2)", "patient_id")
        roles = ", ".join(f"'{r}'" for r in schema.ROLES)
        self.row_check("invalid_role", "diagnoses", ("diagnoses",),
                       f"FROM diagnoses WHERE role IS NULL OR role NOT IN ({roles})", "stay_id")
        self.row_check("malformed_icd10_code", "diagnoses", ("diagnoses",),
                       f"FROM diagnoses WHERE icd10_code IS NULL OR NOT regexp_full_match(icd10_code, "
                       f"'{schema.ICD10_PATTERN}')", "stay_id")
        modes = ", ".join(f"'{m}'" for m in schema.DISCHARGE_MODES)
        self.row_check("invalid_discharge_mode", "stays", ("stays",),
                       f"FROM stays WHERE discharge_mode IS NULL OR discharge_mode NOT IN ({modes})", "stay_id")


def check_data(data_dir: str | Path, strict: bool = False) -> DataCheckReport:
    """Check a data folder against the input schemas and for named anomalies.

    Parameters
    ----------
    data_dir : folder holding ``patients.parquet``, ``stays.parquet`` and ``diagnoses.parquet``.
    strict : raise one :class:`~cohortstat.errors.DataCheckError` listing every anomaly (the report
        is attached as ``.report``) instead of returning a report with anomalies.

    Returns
    -------
    DataCheckReport : one row per check run (count 0 when clean). Content checks that need a
        table with a missing column or a wrong type are skipped (the schema rows say why).
    """
    folder = Path(data_dir)
    c = _Checker(folder)
    try:
        c.schema()
        c.content()
    finally:
        c.con.close()
    report = DataCheckReport(str(folder), tuple(c.rows))
    if strict and not report.ok:
        raise DataCheckError(report.error_message(), report=report)
    return report
