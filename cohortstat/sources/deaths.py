"""The optional ``deaths`` table: deaths from a national death file linked to the patients.

Any layout may hold a ``deaths`` table (``deaths.parquet``, a ``deaths/`` folder or ``deaths.csv``)
with ``patient_id`` (the source's patient key), ``death_date`` and ``source`` (free text, e.g.
``INSEE``), and optionally ``match_quality``. The builder uses, per patient, the earliest *credible*
death: the death date of the source itself (a death discharge, the SNDS ``BEN_DCD_DTE``, the OMOP
``death`` table) or a death-file date that is not before the admission of the patient's last recorded
stay. A death-file date before a recorded stay is not credible (the stay proves the person alive): it
is left out and counted by the data checks as ``death_file_before_stay``.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.datatypes as dt

from cohortstat.sources.files import as_string, day, list_tables, parse_date, read_table, require

COLUMNS = ("patient_id", "death_date")


def read_deaths(engine, folder: Path, tables=None) -> ibis.Table | None:
    """The ``deaths`` relation (``patient_id``, ``death_day``, ``source``) or None when absent."""
    tables = tables if tables is not None else list_tables(folder)
    tf = tables.get("DEATHS")
    if tf is None:
        return None
    t = read_table(engine, tf)
    where = f"table deaths ({tf.path.name})"
    require(t, COLUMNS, where, "The deaths table needs patient_id and death_date (data_schemas/pmsi.md, Deaths).")
    src = as_string(t["source"]) if "source" in t.columns else ibis.literal("death file")
    out = t.select(patient_id=as_string(t.patient_id), death_day=day(parse_date(engine, t, "death_date", where)),
                   source=src)
    return out.filter(out.patient_id.notnull() & out.death_day.notnull())


def credible_deaths(deaths: ibis.Table, stays: ibis.Table) -> tuple[ibis.Table, ibis.Table]:
    """(credible, rejected): death-file rows split by "not before the last recorded admission"."""
    last = stays.group_by("patient_id").agg(last_adm=stays.adm.max())
    j = deaths.left_join(last, "patient_id")
    j = j.select(patient_id=deaths.patient_id, death_day=j.death_day, source=j.source, last_adm=j.last_adm)
    ok = j.last_adm.isnull() | (j.death_day >= j.last_adm)
    return (j.filter(ok).drop("last_adm"), j.filter(~ok).drop("last_adm"))


def merge_deaths(patients: ibis.Table, deaths: ibis.Table | None, stays: ibis.Table) -> ibis.Table:
    """``patients`` with ``death_day`` the earliest of its own and the credible death-file date,
    and ``death_file`` (1 when a credible death-file date exists, else 0)."""
    if deaths is None:
        return patients.mutate(death_file=ibis.literal(0, dt.int64))
    ok, _ = credible_deaths(deaths, stays)
    first = ok.group_by("patient_id").agg(file_day=ok.death_day.min())
    j = patients.left_join(first, "patient_id")
    big = 2**31
    d = ibis.least(j.death_day.fill_null(big), j.file_day.fill_null(big))
    return j.select(
        *[j[c] for c in patients.columns if c != "death_day"],
        death_day=ibis.ifelse(d == big, ibis.null(dt.int64), d),
        death_file=ibis.ifelse(j.file_day.notnull(), 1, 0).cast(dt.int64),
    ).relocate("death_day", after="sex")
