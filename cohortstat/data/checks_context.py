"""Data checks beyond the pmsi tables' own: checks that need the study, the death file, and the
checks of the SNDS and OMOP layouts (mapped onto the builder's relations first).

The SNDS and OMOP layouts are read through their source (:mod:`cohortstat.sources`) on an in-process
DuckDB engine; the mapped relations are stored as temporary tables named like the pmsi tables, so
that every content check of :mod:`cohortstat.data.checks` runs on them unchanged. On top come the
layout's own anomalies (missing year, unknown patient key, unmapped visit concept, ...) and the counts
of its cleaning rules (severity ``info``: what each rule removed).
"""

from __future__ import annotations

from pathlib import Path

from cohortstat.data.checks import INFO, MAX_EXAMPLES, CheckRow, _row

#: generic checks replaced by a layout's own, better-named check
_REPLACED = {"snds": {"stay_unknown_patient"}, "omop": set()}


def _study_rows(q, study) -> list[CheckRow]:
    if study is None:
        return []
    from cohortstat.sources.base import study_years

    import datetime as dt

    # hospital data are delivered by discharge year: the data cover up to 31 December of the year of
    # the last discharge
    eod = study.follow_up.end_of_data
    last = q("SELECT max(discharge_date) FROM stays")[0][0]
    covered = dt.date(last.year, 12, 31) if last is not None else None
    after = covered is not None and eod > covered
    rows = [_row("end_of_data_after_data", "stays", int(after),
                 [f"end_of_data {eod} > {covered} (last discharge {last})"] if after else [])]
    have = {int(r[0]) for r in q("SELECT DISTINCT year(discharge_date) FROM stays WHERE discharge_date IS NOT NULL")}
    missing = [y for y in study_years(study) if y not in have]
    rows.append(_row("missing_study_year", "stays", len(missing), [str(y) for y in missing]))
    return rows


def _death_rows(eng, rel) -> list[CheckRow]:
    if rel.deaths is None:
        return []
    from cohortstat.sources.deaths import credible_deaths

    _, rejected = credible_deaths(rel.deaths, rel.stays)
    unknown = rel.deaths.anti_join(rel.patients.select("patient_id"), "patient_id")
    out = []
    for name, t in (("death_file_before_stay", rejected), ("death_file_unknown_patient", unknown)):
        n = int(eng.con.execute(t.count()))
        ex = eng.to_pandas(t.select("patient_id").distinct().order_by("patient_id").limit(MAX_EXAMPLES))
        out.append(_row(name, "deaths", n, ex["patient_id"].tolist() if n else []))
    return out


def context_rows(checker, folder: Path, study) -> list[CheckRow]:
    """Rows of the study checks and (when a ``deaths`` table is present) the death-file checks."""
    rows = []
    if "stays" in checker.usable:
        rows += _study_rows(checker.q, study)
    from cohortstat.sources.files import list_tables

    if "DEATHS" in list_tables(folder) and {"patients", "stays"} <= checker.usable:
        from cohortstat.engines import Engine
        from cohortstat.sources import get_source

        with Engine.create("duckdb", threads=2) as eng:
            rows += _death_rows(eng, get_source("pmsi").relations(eng, folder))
    return rows


_VIEWS = {
    "patients": "SELECT patient_id, birth_year, sex, CAST(DATE '1970-01-01' + CAST(death_day AS INTEGER) AS DATE) "
                "AS death_date FROM ({sql})",
    "stays": "SELECT stay_id, patient_id, CAST(DATE '1970-01-01' + CAST(adm AS INTEGER) AS DATE) AS admission_date, "
             "CAST(DATE '1970-01-01' + CAST(dis AS INTEGER) AS DATE) AS discharge_date, discharge_mode FROM ({sql})",
    "diagnoses": "SELECT stay_id, icd10_code, role FROM ({sql})",
}


def _examples(eng, col) -> list[str]:
    if col is None:
        return []
    if isinstance(col, tuple):
        return list(col)[:MAX_EXAMPLES]
    t = col.name("k").as_table().distinct().order_by("k").limit(MAX_EXAMPLES)
    return [str(v) for v in eng.to_pandas(t)["k"].tolist()]


def check_layout(folder: Path, name: str, study, checker_class) -> tuple[CheckRow, ...]:
    """Every check of an SNDS or OMOP folder (see the module docstring)."""
    from cohortstat.engines import Engine
    from cohortstat.sources import get_source

    cleaning = getattr(getattr(study, "data_cleaning", None), name, None)
    with Engine.create("duckdb", threads=2) as eng:
        rel = get_source(name).relations(eng, folder, cleaning=cleaning)
        raw = eng.con.con
        checker = checker_class(folder, con=raw)
        for table, view in _VIEWS.items():
            sql = eng.con.compile(getattr(rel, table))
            raw.execute(f"CREATE TEMP TABLE {table} AS SELECT *, row_number() OVER () AS _row FROM ({view.format(sql=sql)})")
            n = raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            checker.rows.append(_row("empty_table", table, int(n == 0), [table] if n == 0 else []))
            checker.usable.add(table)
        checker.content()
        rows = [r for r in checker.rows if r.name not in _REPLACED.get(name, set())]
        rows += _study_rows(checker.q, study)
        rows += _death_rows(eng, rel)
        for a in rel.anomalies:
            n = int(eng.con.execute(a.count))
            rows.append(CheckRow(a.name, a.table, n, tuple(_examples(eng, a.examples)) if n else (),
                                 a.severity, a.description))
        for rule in rel.cleaning:
            n = int(eng.con.execute(rule.removed)) if rule.removed is not None else 0
            desc = rule.description + ("" if rule.enabled else " (switched off in the study file)")
            rows.append(CheckRow(f"cleaning_{rule.name}", rule.unit, n, (), INFO, desc))
        for table in _VIEWS:
            raw.execute(f"DROP TABLE IF EXISTS {table}")
    return tuple(rows)
