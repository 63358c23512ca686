"""The synthetic population written in the SNDS and OMOP layouts (``synth --layout snds|omop``).

The pmsi-layout tables written by :func:`cohortstat.data.synth.generate` are rewritten, in DuckDB, as
the tables a user of each source receives. Every stay, diagnosis, birth year, sex and death is carried
over unchanged, so that a study gives the same cohort from every layout. On top, each layout gets
*planted* anomalies that its cleaning rules must remove (listed with their counts in ``truth.json``):

- SNDS: stays in error (``GRG_GHM`` 90Z00Z) and stays with a non-zero chaining return code, both
  carrying a cancer code (a reader that keeps them finds extra cancers); copies of real stays under a
  duplicated geographic FINESS of AP-HP; copies of real stays in the next year's files (same
  ``ETA_NUM``/``RSA_NUM``); stays of keys absent from ``IR_BEN_R`` (neutral code).
- OMOP: outpatient visits (9202) carrying a cancer code and visits without a visit concept (0), neither
  of which is a hospital stay; ICD-10 source values written with their dot.

Selection of the planted records is a function of the pseudonymous ids only (no random draw), so the
files depend on ``(n_patients, seed)`` alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

LAYOUTS = ("pmsi", "snds", "omop")
#: an AP-HP geographic FINESS duplicated in the PMSI-MCO files up to 2017 (SNDS documentation)
PLANTED_FINESS = "750100042"
_CANCER = "C349"
_NEUTRAL = "Z000"


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _base_views(con, src: Path) -> None:
    con.execute(f"CREATE VIEW p AS SELECT * FROM read_parquet({_q(src / 'patients.parquet')})")
    con.execute(f"CREATE VIEW s0 AS SELECT * FROM read_parquet({_q(src / 'stays.parquet')})")
    con.execute(f"CREATE VIEW d AS SELECT * FROM read_parquet({_q(src / 'diagnoses.parquet')})")
    # stay numbers in stay_id order (the builder breaks same-day ties on stay_id: keep the order)
    con.execute("CREATE TABLE s AS SELECT *, row_number() OVER (ORDER BY stay_id) AS n, "
                "year(discharge_date) AS yr FROM s0")


def _write(con, sql: str, out: Path, name: str, csv: bool) -> None:
    if csv:
        con.execute(f"COPY ({sql}) TO {_q(out / (name + '.csv'))} (HEADER, DELIMITER ';')")
    else:
        con.execute(f"COPY ({sql}) TO {_q(out / (name + '.parquet'))} (FORMAT parquet, COMPRESSION zstd)")


def _snds_stays(con) -> dict[str, int]:
    """Table ``ss``: every SNDS stay row to write (real stays plus planted ones), with its year."""
    eta = "'3500000' || lpad(CAST(ascii(substr(patient_id, 16, 1)) % 50 AS VARCHAR), 2, '0')"
    con.execute(f"""
        CREATE TABLE ss AS
        SELECT stay_id AS src, n, patient_id, admission_date AS adm, discharge_date AS dis, discharge_mode,
               yr, {eta} AS eta, lpad(CAST(n AS VARCHAR), 10, '0') AS rsa, '05C02Z' AS ghm, '0' AS ret,
               'real' AS kind FROM s""")
    # copies of real stays under a duplicated geographic FINESS (same data, another ETA_NUM/RSA_NUM)
    con.execute(f"""INSERT INTO ss SELECT src, n, patient_id, adm, dis, discharge_mode, yr, '{PLANTED_FINESS}',
        lpad(CAST(n + 900000000 AS VARCHAR), 10, '0'), ghm, '0', 'finess' FROM ss
        WHERE kind = 'real' AND substr(src, 15, 2) IN ('a0', 'a1') AND yr <= 2017""")
    # copies of real stays in the next (or previous) year's files: same ETA_NUM, RSA_NUM, dates
    con.execute("""INSERT INTO ss SELECT src, n, patient_id, adm, dis, discharge_mode,
        CASE WHEN yr < 2017 THEN yr + 1 ELSE yr - 1 END, eta, rsa, ghm, '0', 'duplicate' FROM ss
        WHERE kind = 'real' AND substr(src, 15, 2) IN ('b0', 'b1')""")
    # fabricated stays with a cancer code: in error (GHM 90) or with a non-zero return code
    for kind, ghm, ret, tag in (("ghm90", "90Z00Z", "0", "c"), ("return_code", "05C02Z", "1", "d")):
        con.execute(f"""INSERT INTO ss SELECT NULL, n, patient_id, adm - 40, adm - 38, 'home',
            year(adm - 38), eta, lpad(CAST(n + {800000000 if tag == 'c' else 700000000} AS VARCHAR), 10, '0'),
            '{ghm}', '{ret}', '{kind}' FROM ss
            WHERE kind = 'real' AND substr(src, 15, 2) IN ('{tag}0', '{tag}1') AND year(adm - 38) >= 2008""")
    # stays of patient keys that IR_BEN_R does not know (a neutral diagnosis)
    con.execute("""INSERT INTO ss SELECT NULL, n, 'X' || substr(patient_id, 2), adm, dis, 'home', yr, eta,
        lpad(CAST(n + 600000000 AS VARCHAR), 10, '0'), '05C02Z', '0', 'unknown_key' FROM ss
        WHERE kind = 'real' AND substr(src, 15, 2) = 'e0'""")
    rows = con.execute("SELECT kind, count(*) FROM ss GROUP BY kind").fetchall()
    return {k: int(v) for k, v in rows}


def _snds(con, out: Path, csv: bool) -> dict:
    counts = _snds_stays(con)
    # diagnoses of a stay row: those of its source stay; fabricated stays carry one code
    con.execute(f"""CREATE TABLE sd AS
        SELECT ss.yr, ss.eta, ss.rsa, d.icd10_code AS code, d.role FROM ss JOIN d ON d.stay_id = ss.src
        UNION ALL SELECT yr, eta, rsa, CASE WHEN kind = 'unknown_key' THEN '{_NEUTRAL}' ELSE '{_CANCER}' END,
            'principal' FROM ss WHERE src IS NULL""")
    con.execute("""CREATE TABLE bd AS SELECT yr, eta, rsa, max(code) FILTER (WHERE role = 'principal') AS dp,
        max(code) FILTER (WHERE role = 'related') AS dr FROM sd GROUP BY ALL""")
    date = "strftime({}, '%d%m%Y')" if csv else "{}"
    mode = "CASE discharge_mode WHEN 'home' THEN '8' WHEN 'death' THEN '9' WHEN 'transfer' THEN '7' ELSE '5' END"
    for yr in range(2008, 2018):
        aa = f"{yr % 100:02d}"
        w = f"WHERE yr = {yr}"
        _write(con, f"""SELECT ss.eta AS ETA_NUM, ss.rsa AS RSA_NUM, bd.dp AS DGN_PAL, bd.dr AS DGN_REL,
            ghm AS GRG_GHM, {mode} AS SOR_MOD, CAST(year(dis) AS VARCHAR) AS SOR_ANN,
            lpad(CAST(month(dis) AS VARCHAR), 2, '0') AS SOR_MOI, CAST(dis - adm AS VARCHAR) AS SEJ_NBJ
            FROM ss LEFT JOIN bd USING (yr, eta, rsa) WHERE ss.yr = {yr} ORDER BY ss.eta, ss.rsa""",
               out, f"T_MCO{aa}B", csv)
        _write(con, f"""SELECT eta AS ETA_NUM, rsa AS RSA_NUM, patient_id AS NIR_ANO_17,
            {date.format('adm')} AS EXE_SOI_DTD, {date.format('dis')} AS EXE_SOI_DTF,
            ret AS NIR_RET, '0' AS NAI_RET, '0' AS SEX_RET, '0' AS SEJ_RET, '0' AS FHO_RET, '0' AS PMS_RET,
            '0' AS DAT_RET FROM ss {w} ORDER BY eta, rsa""", out, f"T_MCO{aa}C", csv)
        _write(con, f"""SELECT eta AS ETA_NUM, rsa AS RSA_NUM, code AS ASS_DGN FROM sd
            WHERE yr = {yr} AND role = 'associated' ORDER BY eta, rsa, code""", out, f"T_MCO{aa}D", csv)
        _write(con, f"""SELECT eta AS ETA_NUM, rsa AS RSA_NUM, '01' AS UM_ORD_NUM,
            dp AS DGN_PAL, dr AS DGN_REL FROM bd WHERE yr = {yr} ORDER BY eta, rsa""", out, f"T_MCO{aa}UM", csv)
    death = (f"coalesce({date.format('death_date')}, '01011600')" if csv
             else "coalesce(death_date, DATE '1600-01-01')")
    _write(con, f"""SELECT patient_id AS BEN_NIR_PSA, 1 AS BEN_RNG_GEM, CAST(birth_year AS VARCHAR) AS BEN_NAI_ANN,
        sex AS BEN_SEX_COD, {death} AS BEN_DCD_DTE FROM p ORDER BY patient_id""", out, "IR_BEN_R", csv)
    return {"stays_ghm_error": counts.get("ghm90", 0), "stays_return_code": counts.get("return_code", 0),
            "stays_duplicate_finess": counts.get("finess", 0), "stays_duplicate_rsa": counts.get("duplicate", 0),
            "stays_unknown_patient_key": counts.get("unknown_key", 0)}


def _omop(con, out: Path, csv: bool) -> dict:
    con.execute("CREATE TABLE pid AS SELECT patient_id, row_number() OVER (ORDER BY patient_id) AS person_id FROM p")
    _write(con, """SELECT person_id, CASE sex WHEN 1 THEN 8507 WHEN 2 THEN 8532 ELSE 0 END AS gender_concept_id,
        birth_year AS year_of_birth, 0 AS race_concept_id, 0 AS ethnicity_concept_id, p.patient_id AS person_source_value
        FROM p JOIN pid USING (patient_id) ORDER BY person_id""", out, "person", csv)
    con.execute("""CREATE TABLE v AS SELECT n AS visit_occurrence_id, person_id, 9201 AS visit_concept_id,
        admission_date AS visit_start_date, discharge_date AS visit_end_date, 32817 AS visit_type_concept_id,
        stay_id AS src FROM s JOIN pid USING (patient_id)""")
    con.execute("""INSERT INTO v SELECT visit_occurrence_id + 500000000, person_id, 9202, visit_start_date - 20,
        visit_start_date - 20, 32817, NULL FROM v WHERE substr(src, 15, 2) IN ('c0', 'c1')""")
    con.execute("""INSERT INTO v SELECT visit_occurrence_id + 400000000, person_id, 0, visit_start_date - 30,
        visit_start_date - 29, 32817, NULL FROM v WHERE substr(src, 15, 2) = 'd0'""")
    _write(con, "SELECT * EXCLUDE (src) FROM v ORDER BY visit_occurrence_id", out, "visit_occurrence", csv)
    dotted = "CASE WHEN length(icd10_code) > 3 THEN substr(icd10_code, 1, 3) || '.' || substr(icd10_code, 4) ELSE icd10_code END"
    _write(con, f"""SELECT row_number() OVER (ORDER BY v.visit_occurrence_id, d.role, d.icd10_code) AS condition_occurrence_id,
        v.person_id, 0 AS condition_concept_id, v.visit_start_date AS condition_start_date,
        32817 AS condition_type_concept_id,
        CASE d.role WHEN 'principal' THEN 32902 ELSE 32908 END AS condition_status_concept_id,
        CASE d.role WHEN 'principal' THEN 'DP' WHEN 'related' THEN 'DR' ELSE 'DAS' END AS condition_status_source_value,
        v.visit_occurrence_id, {dotted} AS condition_source_value
        FROM v JOIN d ON d.stay_id = v.src
        UNION ALL SELECT 900000000 + v.visit_occurrence_id, v.person_id, 0, v.visit_start_date, 32817, 32902, 'DP',
            v.visit_occurrence_id, CASE WHEN v.visit_concept_id = 0 THEN '{_NEUTRAL}' ELSE 'C34.9' END
        FROM v WHERE v.src IS NULL ORDER BY 1""", out, "condition_occurrence", csv)
    _write(con, """SELECT person_id, min(d) AS death_date, 32817 AS death_type_concept_id FROM (
        SELECT patient_id, death_date AS d FROM p WHERE death_date IS NOT NULL
        UNION ALL SELECT patient_id, discharge_date FROM s WHERE discharge_mode = 'death')
        JOIN pid USING (patient_id) GROUP BY person_id ORDER BY person_id""", out, "death", csv)
    _write(con, """SELECT person_id AS observation_period_id, person_id, DATE '2008-01-01' AS observation_period_start_date,
        DATE '2017-12-31' AS observation_period_end_date, 32817 AS period_type_concept_id FROM pid
        ORDER BY person_id""", out, "observation_period", csv)
    n = dict(con.execute("SELECT visit_concept_id, count(*) FROM v WHERE src IS NULL GROUP BY 1").fetchall())
    return {"outpatient_visits_with_cancer": int(n.get(9202, 0)), "visits_unmapped_concept": int(n.get(0, 0))}


def write_layout(pmsi_dir: str | Path, out_dir: str | Path, layout: str, csv: bool = False) -> dict:
    """Rewrite the pmsi-layout tables of ``pmsi_dir`` into ``out_dir`` as ``layout``.

    Returns the planted anomalies (name -> count). ``csv``: ``;``-separated CSV files (dates
    ``DDMMYYYY`` in the SNDS layout) instead of parquet.
    """
    src, out = Path(pmsi_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if layout == "pmsi":
        if src.resolve() != out.resolve():
            for t in ("patients", "stays", "diagnoses"):
                shutil.copyfile(src / f"{t}.parquet", out / f"{t}.parquet")
        return {}
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    con = duckdb.connect(config={"threads": 2})
    try:
        _base_views(con, src)
        return _snds(con, out, csv) if layout == "snds" else _omop(con, out, csv)
    finally:
        con.close()
