"""The ``omop`` source: an OMOP CDM v5.4 copy of a hospital data warehouse.

``person`` (year_of_birth, gender_concept_id 8507 male / 8532 female), ``visit_occurrence``
(inpatient visits are the stays), ``condition_occurrence`` (ICD-10 from ``condition_source_value``;
role from ``condition_status_source_value`` DP/DR/DAS when the warehouse keeps the PMSI role, else
``condition_status_concept_id``, else ``condition_type_concept_id``), ``death`` and
``observation_period`` (per-person end of data). The mapping is in data_schemas/omop.md.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.datatypes as dt

from cohortstat.errors import DataSchemaError
from cohortstat.sources.base import CleaningRule, Relations, SourceAnomaly
from cohortstat.sources.deaths import read_deaths
from cohortstat.sources.files import as_string, day, list_tables, parse_date, read_table, require

_HINT = "See data_schemas/omop.md for the OMOP CDM v5.4 columns cohortstat reads."
#: OMOP gender concepts -> SNDS sex coding
GENDER = {8507: 1, 8532: 2}
#: visit concepts read as hospital stays: Inpatient Visit, Emergency Room and Inpatient Visit,
#: Inpatient Hospital (place of service used by some ETLs)
INPATIENT_VISITS = (9201, 262, 8717)
#: condition status concepts of a primary diagnosis (primary; primary admission; primary discharge)
PRIMARY_STATUS = (32902, 32901, 32903)
#: condition type concepts of a primary position (inpatient detail / header - primary), OMOP v5.3 ETLs
PRIMARY_TYPE = (38000183, 38000199)
#: condition_status_source_value of French PMSI warehouses
SOURCE_ROLE = {"DP": "principal", "DR": "related", "DAS": "associated"}
RULES = {
    "icd10_dot": ("the dot of ICD-10 source values (A41.9 -> A419) removed, as PMSI stores codes",
                  "WHO ICD-10 writes a dot after 3 characters; PMSI and cohortstat concept sets do not"),
}


def _table(engine, tables, folder: Path, name: str, columns, optional: bool = False):
    tf = tables.get(name.upper())
    if tf is None:
        if optional:
            return None, ""
        raise DataSchemaError(
            f"OMOP folder {folder} has no {name} table: expected {name}.parquet, a {name}/ folder of "
            f"parquet parts, or {name}.csv. {_HINT}"
        )
    t = read_table(engine, tf)
    t = t.rename({c.lower(): c for c in t.columns if c != c.lower()})
    where = f"OMOP table {name} ({tf.path.name})"
    require(t, columns, where, _HINT)
    return t, where


def _int(col: ibis.Column) -> ibis.Column:
    return col.cast(dt.string).strip().cast(dt.float64).cast(dt.int64)


def _visit_key(col: ibis.Column) -> ibis.Column:
    """An OMOP integer id as a fixed-width string: string order is then numeric order."""
    return as_string(_int(col)).lpad(20, "0")


def _role(c: ibis.Table) -> ibis.Column:
    status = _int(c.condition_status_concept_id) if "condition_status_concept_id" in c.columns else ibis.null(dt.int64)
    typ = _int(c.condition_type_concept_id) if "condition_type_concept_id" in c.columns else ibis.null(dt.int64)
    by_concept = ibis.cases(
        (status.isin(list(PRIMARY_STATUS)), "principal"),
        (status.notnull() & (status != 0), "associated"),
        (typ.isin(list(PRIMARY_TYPE)), "principal"),
        else_="associated",
    )
    if "condition_status_source_value" in c.columns:
        src = c.condition_status_source_value.cast(dt.string).strip().upper()
        by_source = ibis.cases(*[(src == k, v) for k, v in SOURCE_ROLE.items()], else_=ibis.null(dt.string))
        return by_source.fill_null(by_concept)
    return by_concept


def relations(engine, folder: Path, cleaning=None, years_needed=None) -> Relations:
    """The builder's relations from an OMOP CDM folder (``years_needed`` is not used)."""
    folder = Path(folder)
    tables = list_tables(folder)
    p, wp = _table(engine, tables, folder, "person", ("person_id", "year_of_birth", "gender_concept_id"))
    v, wv = _table(engine, tables, folder, "visit_occurrence",
                   ("visit_occurrence_id", "person_id", "visit_concept_id", "visit_start_date", "visit_end_date"))
    c, wc = _table(engine, tables, folder, "condition_occurrence",
                   ("person_id", "visit_occurrence_id", "condition_source_value"))
    dth, wd = _table(engine, tables, folder, "death", ("person_id", "death_date"), optional=True)
    op, wo = _table(engine, tables, folder, "observation_period",
                    ("person_id", "observation_period_end_date"), optional=True)

    gender = _int(p.gender_concept_id)
    persons = p.select(
        patient_id=_visit_key(p.person_id),
        birth_year=_int(p.year_of_birth),
        sex=ibis.cases(*[(gender == k, val) for k, val in GENDER.items()], else_=ibis.literal(9)).cast(dt.int64),
    )
    if dth is not None:
        d = dth.select(patient_id=_visit_key(dth.person_id), dday=day(parse_date(engine, dth, "death_date", wd)))
        d = d.group_by("patient_id").agg(death_day=d.dday.min())
    else:
        d = persons.select("patient_id", death_day=ibis.null(dt.int64)).limit(0)
    if op is not None:
        o = op.select(patient_id=_visit_key(op.person_id),
                      end=day(parse_date(engine, op, "observation_period_end_date", wo)))
        o = o.group_by("patient_id").agg(end_day=o.end.max())
    else:
        o = persons.select("patient_id", end_day=ibis.null(dt.int64)).limit(0)
    pj = persons.left_join(d, "patient_id").left_join(o, "patient_id")
    patients = pj.select("patient_id", "birth_year", "sex", death_day=pj.death_day, end_day=pj.end_day)

    concept = _int(v.visit_concept_id)
    start = parse_date(engine, v, "visit_start_date", wv)
    visits = v.select(
        stay_id=_visit_key(v.visit_occurrence_id),
        patient_id=_visit_key(v.person_id),
        adm=day(start),
        dis=day(parse_date(engine, v, "visit_end_date", wv)),
        adm_year=start.year().cast(dt.int64),
        concept=concept,
    )
    inpatient = visits.filter(visits.concept.isin(list(INPATIENT_VISITS)))
    # a stay ends in death when the person's death date falls within it
    sj = inpatient.left_join(d, "patient_id")
    died = sj.death_day.notnull() & (sj.death_day >= sj.adm) & (sj.death_day <= sj.dis)
    stays = sj.select("stay_id", "patient_id", "adm", "dis", "adm_year",
                      discharge_mode=ibis.ifelse(died, "death", "home"))

    dot = not cleaning or bool(cleaning.get("icd10_dot", True) if isinstance(cleaning, dict)
                               else getattr(cleaning, "icd10_dot", True))
    raw = c.condition_source_value.cast(dt.string).strip()
    code = raw.replace(".", "") if dot else raw
    conds = c.filter(c.visit_occurrence_id.notnull()).select(
        stay_id=_visit_key(c.visit_occurrence_id), icd10_code=code, role=_role(c), raw=raw)
    conds = conds.filter(conds.icd10_code.notnull() & (conds.icd10_code != ""))
    diagnoses = conds.semi_join(stays.select("stay_id"), "stay_id").select("stay_id", "icd10_code", "role").distinct()

    dotted = conds.filter(conds.raw.contains("."))
    rules = (CleaningRule("icd10_dot", *RULES["icd10_dot"], removed=dotted.count() if dot else None,
                          unit="diagnoses", enabled=dot),)
    unmapped = visits.filter(visits.concept.isnull() | (visits.concept == 0))
    no_visit = c.filter(c.visit_occurrence_id.isnull())
    anomalies = (
        SourceAnomaly("unmapped_visit_concept", "visit_occurrence", "warning",
                      "visit_concept_id is 0 or empty: the visit cannot be read as a stay (left out)",
                      unmapped.count(), unmapped.stay_id),
        SourceAnomaly("condition_without_visit", "condition_occurrence", "warning",
                      "a condition has no visit_occurrence_id: it belongs to no stay (left out)",
                      no_visit.count(), None),
    )
    return Relations(patients=patients, stays=stays, diagnoses=diagnoses,
                     deaths=read_deaths(engine, folder, tables), source="omop",
                     cleaning=rules, anomalies=anomalies, materialize=True)
