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
    "missing_table": ("*", "error", "the parquet file of a table is missing"),
    "unreadable_table": ("*", "error", "a table file cannot be read (corrupt or truncated parquet, bad CSV)"),
    "missing_column": ("*", "error", "a required column is missing"),
    "wrong_type": ("*", "error", "a column has a type that cannot stand for the declared one"),
    "empty_table": ("*", "error", "a table has no rows"),
    "null_key": ("*", "error", "a key column (patient_id, stay_id) is null"),
    "duplicate_patient_id": ("patients", "error", "a patient_id appears on more than one row"),
    "duplicate_stay_id": ("stays", "error", "a stay_id appears on more than one row"),
    "stay_unknown_patient": ("stays", "error", "a stay's patient_id is not in patients"),
    "diagnosis_unknown_stay": ("diagnoses", "error", "a diagnosis' stay_id is not in stays"),
    "null_date": ("stays", "error", "admission_date or discharge_date is null"),
    "discharge_before_admission": ("stays", "error", "discharge_date is before admission_date"),
    "stay_after_death": ("stays", "error", "a stay is admitted or discharged after the patient's death_date"),
    "birth_after_admission": ("stays", "error", "the patient's birth_year is after the admission year"),
    "invalid_sex": ("patients", "error", "sex is not 1 (male) or 2 (female)"),
    "invalid_role": ("diagnoses", "error", "role is not principal, related or associated"),
    "malformed_icd10_code": ("diagnoses", "error",
                             "icd10_code is null or not upper case without dot (letter, 2 digits, <= 3 more)"),
    "invalid_discharge_mode": ("stays", "warning", "discharge_mode is not home, transfer, death or other"),
}
#: checks run only with a study (``check_data(..., study=)``) or a linked death file
CONTEXT_CHECKS: dict[str, tuple[str, str, str]] = {
    "end_of_data_after_data": ("stays", "error",
                               "the study's follow_up.end_of_data is after 31 December of the year of the data's "
                               "last discharge (person-time past the data would be counted as event-free)"),
    "missing_study_year": ("stays", "error", "a calendar year the study period and follow-up need has no stay"),
    "death_file_before_stay": ("deaths", "warning",
                               "a death-file date is before the admission of a recorded stay of the same patient "
                               "(left out as not credible)"),
    "death_file_unknown_patient": ("deaths", "warning", "a death-file patient_id is not a known patient"),
}
#: severity of the counts of a source's cleaning rules (not anomalies: what the rules removed)
INFO = "info"

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
    source: str = "pmsi"

    @property
    def anomalies(self) -> tuple[CheckRow, ...]:
        """Rows with at least one offending record (cleaning-rule counts, severity ``info``, excluded)."""
        return tuple(r for r in self.rows if r.count > 0 and r.severity != INFO)

    @property
    def errors(self) -> tuple[CheckRow, ...]:
        """Rows of severity ``error`` with at least one offending record."""
        return tuple(r for r in self.rows if r.count > 0 and r.severity == "error")

    @property
    def ok(self) -> bool:
        """True when no check found anything."""
        return not self.anomalies

    @property
    def has_schema_errors(self) -> bool:
        """True when a table or column is missing, has the wrong type, or a table is empty."""
        return any(r.name in ("missing_table", "unreadable_table", "missing_column", "wrong_type",
                              "empty_table") for r in self.anomalies)

    def count(self, name: str, table: str | None = None) -> int:
        """Total count of check ``name`` (optionally for one table)."""
        return sum(r.count for r in self.rows if r.name == name and (table is None or r.table == table))

    def to_frame(self) -> pd.DataFrame:
        """One row per check: name, table, count, examples (tuple of ids), severity, description."""
        cols = ["name", "table", "count", "examples", "severity", "description"]
        return pd.DataFrame([[getattr(r, c) for c in cols] for r in self.rows], columns=cols)

    def to_dict(self) -> dict:
        return {"data_dir": self.data_dir, "source": self.source, "ok": self.ok,
                "errors": len(self.errors),
                "checks": [{**r.__dict__, "examples": list(r.examples)} for r in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        """A plain-text table: anomalies first, then the clean checks on one line."""
        lines = [f"data checks of {self.data_dir} ({self.source} layout): " + ("no anomaly" if self.ok else
                                                         f"{len(self.anomalies)} anomal{'y' if len(self.anomalies) == 1 else 'ies'}")]
        for r in self.anomalies:
            ex = f" e.g. {', '.join(r.examples)}" if r.examples else ""
            lines.append(f"  {r.severity.upper():7} {r.name} [{r.table}]: {r.count}{ex} - {r.description}")
        for r in self.rows:
            if r.severity == INFO:
                lines.append(f"  CLEANED {r.name} [{r.table}]: {r.count} - {r.description}")
        clean = [f"{r.name}[{r.table}]" if r.name in ("null_key", "empty_table") else r.name
                 for r in self.rows if r.count == 0 and r.severity != INFO]
        if clean:
            lines.append("  passed: " + ", ".join(clean))
        return "\n".join(lines)

    def error_message(self) -> str:
        items = [f"  - {r.name} [{r.table}]: {r.count}" + (f" (e.g. {', '.join(r.examples)})" if r.examples else "")
                 for r in self.anomalies]
        return (f"data in {self.data_dir} failed {len(items)} check(s):\n" + "\n".join(items)
                + f"\nFix the data (see data_schemas/{self.source}.md) or run check-data without --strict for the full report.")


def _row(name: str, table: str | None, count: int, examples=()) -> CheckRow:
    t, sev, desc = CHECKS[name] if name in CHECKS else CONTEXT_CHECKS[name]
    return CheckRow(name, table or t, int(count), tuple(str(e) for e in examples)[:MAX_EXAMPLES], sev, desc)


class _Checker:
    def __init__(self, folder: Path, con=None):
        self.folder = folder
        # row order is never needed (counts; examples are ordered explicitly): dropping it makes the
        # large joins several times faster
        self.con = con if con is not None else duckdb.connect(
            config={"threads": 2, "preserve_insertion_order": False})
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
            except FileNotFoundError:
                self.rows.append(_row("missing_table", t, 1, [schema.file_name(t)]))
                continue
            except duckdb.Error as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                self.rows.append(_row("unreadable_table", t, 1, [f"{schema.file_name(t)}: {first}"]))
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

    def count(self, name: str) -> int:
        return sum(r.count for r in self.rows if r.name == name)

    def _examples(self, from_where: str, id_expr: str) -> list:
        return [r[0] for r in self.q(f"SELECT DISTINCT {id_expr} AS i {from_where} ORDER BY i LIMIT {MAX_EXAMPLES}")]

    def _add(self, name: str, table: str, n, from_where: str, id_expr: str) -> None:
        n = int(n or 0)
        self.rows.append(_row(name, table, n, self._examples(from_where, id_expr) if n else []))

    def content(self) -> None:
        """Few passes over each table: aggregate counts first, examples only for anomalies."""
        u = self.usable
        roles = ", ".join(f"'{r}'" for r in schema.ROLES)
        modes = ", ".join(f"'{m}'" for m in schema.DISCHARGE_MODES)
        bad_code = f"icd10_code IS NULL OR NOT regexp_full_match(icd10_code, '{schema.ICD10_PATTERN}')"
        bad_role = f"role IS NULL OR role NOT IN ({roles})"
        if "patients" in u:
            null_p, sex = self.q("SELECT count_if(patient_id IS NULL), count_if(sex IS NULL OR sex NOT IN (1, 2)) "
                                 "FROM patients")[0]
            self._add("null_key", "patients", null_p, "FROM patients WHERE patient_id IS NULL", "'row ' || _row")
            self._duplicates("duplicate_patient_id", "patients", "patient_id")
            self._add("invalid_sex", "patients", sex, "FROM patients WHERE sex IS NULL OR sex NOT IN (1, 2)",
                      "patient_id")
        if "stays" in u:
            null_s, null_dt, before, mode = self.q(
                "SELECT count_if(stay_id IS NULL OR patient_id IS NULL), "
                "count_if(admission_date IS NULL OR discharge_date IS NULL), count_if(discharge_date < admission_date), "
                f"count_if(discharge_mode IS NULL OR discharge_mode NOT IN ({modes})) FROM stays")[0]
            self._add("null_key", "stays", null_s, "FROM stays WHERE stay_id IS NULL OR patient_id IS NULL",
                      "'row ' || _row")
            self._add("null_date", "stays", null_dt,
                      "FROM stays WHERE admission_date IS NULL OR discharge_date IS NULL", "coalesce(stay_id, 'row ' || _row)")
            self._duplicates("duplicate_stay_id", "stays", "stay_id")
            self._add("discharge_before_admission", "stays", before,
                      "FROM stays WHERE discharge_date < admission_date", "stay_id")
            self._add("invalid_discharge_mode", "stays", mode,
                      f"FROM stays WHERE discharge_mode IS NULL OR discharge_mode NOT IN ({modes})", "stay_id")
        if {"stays", "patients"} <= u:
            # join each stay to its patient; with duplicate patient ids (reported above) join one
            # row per id instead, so that duplicates do not multiply the counts
            pt = "patients"
            if self.count("duplicate_patient_id"):
                pt = ("(SELECT patient_id, min(death_date) AS death_date, max(birth_year) AS birth_year "
                      "FROM patients WHERE patient_id IS NOT NULL GROUP BY patient_id)")
            pj = f"FROM stays s LEFT JOIN {pt} p ON p.patient_id = s.patient_id"
            after = "greatest(s.admission_date, s.discharge_date) > p.death_date"
            born = "year(s.admission_date) < p.birth_year"
            unknown = "s.patient_id IS NOT NULL AND p.patient_id IS NULL"
            n_unknown, n_after, n_born = self.q(
                f"SELECT count_if({unknown}), count_if({after}), count_if({born}) {pj}")[0]
            self._add("stay_unknown_patient", "stays", n_unknown, f"{pj} WHERE {unknown}", "s.stay_id")
            self._add("stay_after_death", "stays", n_after, f"{pj} WHERE {after}", "s.stay_id")
            self._add("birth_after_admission", "stays", n_born, f"{pj} WHERE {born}", "s.stay_id")
        if "diagnoses" in u:
            # value checks on the distinct (code, role) pairs, not on every row
            null_d, role, code = self.q(
                "WITH g AS (SELECT icd10_code, role, stay_id IS NULL AS nk, count(*) AS n FROM diagnoses GROUP BY ALL) "
                f"SELECT sum(n) FILTER (WHERE nk), sum(n) FILTER (WHERE {bad_role}), sum(n) FILTER (WHERE {bad_code}) "
                "FROM g")[0]
            self._add("null_key", "diagnoses", null_d, "FROM diagnoses WHERE stay_id IS NULL", "'row ' || _row")
            self._add("invalid_role", "diagnoses", role, f"FROM diagnoses WHERE {bad_role}", "stay_id")
            self._add("malformed_icd10_code", "diagnoses", code, f"FROM diagnoses WHERE {bad_code}", "stay_id")
        if {"diagnoses", "stays"} <= u:
            fw = ("FROM diagnoses d WHERE d.stay_id IS NOT NULL AND NOT EXISTS "
                  "(SELECT 1 FROM stays s WHERE s.stay_id = d.stay_id)")
            n = self.q("SELECT count(*) FROM diagnoses d ANTI JOIN stays s ON s.stay_id = d.stay_id "
                       "WHERE d.stay_id IS NOT NULL")[0][0]
            self._add("diagnosis_unknown_stay", "diagnoses", n, fw, "d.stay_id")

    def _duplicates(self, name: str, table: str, key: str) -> None:
        sub = f"FROM (SELECT {key} FROM {table} WHERE {key} IS NOT NULL GROUP BY {key} HAVING count(*) > 1) d"
        self._add(name, table, self.q(f"SELECT count(*) {sub}")[0][0], sub, key)


def check_data(data_dir: str | Path, strict: bool = False, *, source: str | None = None,
               study=None) -> DataCheckReport:
    """Check a data folder against its layout's schema and for named anomalies.

    Parameters
    ----------
    data_dir : the data folder (any layout: pmsi, snds, omop).
    strict : raise one :class:`~cohortstat.errors.DataCheckError` listing every anomaly (the report
        is attached as ``.report``) instead of returning a report with anomalies.
    source : ``"pmsi"``, ``"snds"`` or ``"omop"``; detected from the folder's contents when omitted.
    study : a loaded study; adds the checks that need it (``end_of_data_after_data``,
        ``missing_year``).

    Returns
    -------
    DataCheckReport : one row per check run (count 0 when clean). Content checks that need a
        table with a missing column or a wrong type are skipped (the schema rows say why). The SNDS
        and OMOP layouts are checked after mapping onto the builder's relations, plus their own
        anomalies and the counts of their cleaning rules (severity ``info``).

    Raises
    ------
    DataSchemaError : the folder holds no known layout, mixes layouts, or a table the layout needs
        cannot be mapped (missing table or column, unknown date format).
    """
    from cohortstat.data.checks_context import check_layout, context_rows
    from cohortstat.sources import resolve_source

    folder = Path(data_dir)
    name = resolve_source(folder, source)
    if name == "pmsi":
        c = _Checker(folder)
        try:
            c.schema()
            c.content()
            c.rows.extend(context_rows(c, folder, study))
        finally:
            c.con.close()
        rows = tuple(c.rows)
    else:
        rows = check_layout(folder, name, study, _Checker)
    report = DataCheckReport(str(folder), rows, name)
    if strict and not report.ok:
        raise DataCheckError(report.error_message(), report=report)
    return report
