"""Structure, determinism and bookkeeping of the synthetic data generator."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.data import _synth_params as P
from cohortstat.data import schema, synth
from tests.data.conftest import N_LARGE, SEED_LARGE

TABLES = tuple(schema.SCHEMAS)


def _q(folder, sql: str):
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{folder / schema.file_name(t)}')")
    return con.execute(sql).fetchall()


def _digest(folder) -> dict[str, str]:
    names = [schema.file_name(t) for t in TABLES] + ["truth.json"]
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def test_files_have_the_declared_schemas(large_dir):
    for t, sch in schema.SCHEMAS.items():
        assert pq.read_schema(large_dir / schema.file_name(t)).remove_metadata().equals(sch), t


def test_keys_unique_and_referentially_intact(large_dir):
    (row,) = _q(large_dir, """
        SELECT (SELECT count(*) - count(DISTINCT patient_id) FROM patients),
               (SELECT count(*) - count(DISTINCT stay_id) FROM stays),
               (SELECT count(*) FROM stays s ANTI JOIN patients p USING (patient_id)),
               (SELECT count(*) FROM diagnoses d ANTI JOIN stays s USING (stay_id)),
               (SELECT count(*) FROM patients p ANTI JOIN stays s USING (patient_id)),
               (SELECT count(*) FROM patients)""")
    # generator 1.1.0 adds round(0.3 N) nonsevere-infection patients (comparator group) to the N index patients
    assert row == (0, 0, 0, 0, 0, N_LARGE + round(N_LARGE * P.NONSEVERE_PER_PATIENT))


def test_values_dates_and_codes_are_valid(large_dir):
    (row,) = _q(large_dir, f"""
        SELECT (SELECT count(*) FROM stays WHERE discharge_date < admission_date),
               (SELECT count(*) FROM stays WHERE admission_date < DATE '{P.DATA_START}'
                                               OR discharge_date > DATE '{P.DATA_END}'),
               (SELECT count(*) FROM stays s JOIN patients p USING (patient_id)
                 WHERE s.discharge_date > p.death_date),
               (SELECT count(*) FROM stays s JOIN patients p USING (patient_id)
                 WHERE year(s.admission_date) < p.birth_year),
               (SELECT count(*) FROM diagnoses WHERE NOT regexp_full_match(icd10_code, '{schema.ICD10_PATTERN}')),
               (SELECT count(*) FROM diagnoses WHERE role NOT IN ('principal', 'related', 'associated')),
               (SELECT count(*) FROM stays WHERE discharge_mode NOT IN ('home', 'transfer', 'death', 'other')),
               (SELECT count(*) FROM patients WHERE sex NOT IN (1, 2)),
               (SELECT count(*) FROM (SELECT stay_id FROM diagnoses WHERE role = 'principal'
                                       GROUP BY stay_id HAVING count(*) <> 1)),
               (SELECT count(*) FROM stays s ANTI JOIN (SELECT DISTINCT stay_id FROM diagnoses
                                                        WHERE role = 'principal') d USING (stay_id))""")
    assert row == (0,) * 10


def test_truth_counts_match_the_files(large_dir):
    doc = json.loads((large_dir / "truth.json").read_text())
    c = doc["counts"]
    assert doc["seed"] == SEED_LARGE and doc["n_patients"] == N_LARGE
    assert doc["generator_version"] == P.GENERATOR_VERSION
    (row,) = _q(large_dir, """
        SELECT (SELECT count(*) FROM stays), (SELECT count(*) FROM diagnoses),
               (SELECT count(*) FROM stays WHERE discharge_mode = 'death'),
               (SELECT count(*) FROM patients WHERE death_date IS NOT NULL),
               (SELECT count(*) FROM patients WHERE birth_year IS NULL)""")
    assert row[0] == c["rows_stays"] and row[1] == c["rows_diagnoses"]
    assert row[2] == c["index_deaths"] + c["deaths_in_hospital_after_index"]
    assert row[3] == c["index_deaths"] + c["deaths_after_index"] - c["deaths_only_on_stay"]
    assert row[4] == c["birth_year_missing"]
    # every case the study must exclude is present
    for k in ("both", "prior_cancer", "minors", "index_deaths", "deaths_only_on_stay", "birth_year_missing"):
        assert c[k] > 0, k


def test_paper_proportions_of_index_groups(large_dir):
    c = json.loads((large_dir / "truth.json").read_text())["counts"]
    share = c["index_exposed"] / (c["index_exposed"] + c["index_reference"])
    assert share == pytest.approx(P.TARGET_EXPOSED_SHARE, abs=0.005)
    assert 0.02 < c["both"] / N_LARGE < 0.04


def test_truth_documents_every_planted_effect(large_dir):
    doc = json.loads((large_dir / "truth.json").read_text())
    planted = doc["planted"]
    assert planted["outcomes"]["lung"]["exposure"] == pytest.approx(-0.2876820724517809)
    assert set(planted["outcomes"]) == {"lung", "skin", "oropharynx", "breast", "other"}
    assert planted["death"]["exposure"] > 0
    assert "cause-specific" in doc["model"]["outcomes"].lower()


def test_same_seed_gives_byte_identical_files_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "CHUNK_PATIENTS", 1_500)
    a = synth.generate(4_000, 11, tmp_path / "a")
    b = synth.generate(4_000, 11, tmp_path / "b")
    c = synth.generate(4_000, 12, tmp_path / "c")
    assert _digest(a) == _digest(b)
    da, dc = _digest(a), _digest(c)
    assert all(da[k] != dc[k] for k in da)
    assert len(pq.read_metadata(a / "patients.parquet").schema.names) == 4
    (n,) = _q(a, "SELECT count(DISTINCT patient_id) FROM patients")[0]
    assert n == 4_000 + 450 + 450 + 300  # ids stay unique across chunks (+ 0.3 nonsevere-infection patients per chunk)


def test_seeds_give_different_pseudonymous_ids(tmp_path):
    a = synth.generate(50, 1, tmp_path / "a")
    b = synth.generate(50, 2, tmp_path / "b")
    ia = {r[0] for r in _q(a, "SELECT patient_id FROM patients")}
    ib = {r[0] for r in _q(b, "SELECT patient_id FROM patients")}
    assert not ia & ib
    assert all(len(i) == 16 and i.startswith("P") for i in ia)


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_bad_size_is_rejected(tmp_path, bad):
    with pytest.raises(ValueError, match="n_patients"):
        synth.generate(bad, 1, tmp_path)


def test_cli_synth_writes_the_folder(tmp_path):
    res = CliRunner().invoke(app, ["synth", "--patients", "300", "--seed", "5", "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert _digest(tmp_path / "d") == _digest(synth.generate(300, 5, tmp_path / "e"))


def test_cli_synth_writes_each_layout(tmp_path):
    """`synth --layout` writes the layout's own tables and reports the planted anomalies."""
    from typer.testing import CliRunner

    from cohortstat.cli import app
    from cohortstat.sources import detect_source

    runner = CliRunner()
    for layout, marker in (("snds", "IR_BEN_R.csv"), ("omop", "condition_occurrence.csv")):
        out = tmp_path / layout
        res = runner.invoke(app, ["synth", "--patients", "300", "--seed", "2", "--out", str(out),
                                  "--layout", layout, "--csv"])
        assert res.exit_code == 0, res.output
        assert (out / marker).is_file() and detect_source(out) == layout
        assert f"{layout} layout; planted anomalies:" in res.output
        assert not list(out.glob(".synth-pmsi-*"))
    bad = runner.invoke(app, ["synth", "--patients", "10", "--out", str(tmp_path / "x"), "--layout", "cdm"])
    assert bad.exit_code == 2 and "--layout must be pmsi, snds or omop" in bad.output
