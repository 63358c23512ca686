"""Reference rates of a study (``reference_rates:``): read and checked at validation, hashed, locked."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from cohortstat.errors import SpecError
from cohortstat.spec import freeze, load_lock, load_study, spec_hash
from cohortstat.spec.variants import resolve_variant, with_negative_controls

from .conftest import ROOT, shipped_document

RATES = ROOT / "studies" / "rates" / "illustrative_cancer_rates.csv"


def _doc(file: str | Path = RATES, **section) -> dict:
    doc = shipped_document()
    doc["reference_rates"] = {"file": str(file), **section}
    return doc


def _rates_text() -> str:
    return RATES.read_text(encoding="utf-8")


def _with_file(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "rates.csv"
    path.write_text(text, encoding="utf-8")
    return _doc(path)


def _errors(doc) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as info:
        load_study(doc)
    return info.value.errors


def test_rates_are_read_relative_to_the_study_file_and_carried_by_the_study(tmp_path):
    (tmp_path / "rates").mkdir()
    shutil.copy(RATES, tmp_path / "rates" / "cancer.csv")
    doc = _doc("rates/cancer.csv", per=100000)
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    study = load_study(tmp_path / "study.yaml")
    rr = study.reference_rates
    assert rr.per == 100000 and len(rr.rates) == len(_rates_text().splitlines()) - 1
    lung_old_women = [r for r in rr.rates if r.outcome == "lung" and r.sex == 2 and r.age_upper is None]
    assert [(r.age_lower, r.rate) for r in lung_old_women] == [(80, 90.0)]
    assert len(rr.sha256) == 64


def test_a_changed_rate_file_changes_the_hash_and_a_study_without_rates_keeps_its_hash(tmp_path):
    base = spec_hash(load_study(shipped_document()))
    path = tmp_path / "rates.csv"
    path.write_text(_rates_text(), encoding="utf-8")
    first = spec_hash(load_study(_doc(path)))
    path.write_text(_rates_text().replace("lung,18,40,1,2\n", "lung,18,40,1,3\n"), encoding="utf-8")
    second = spec_hash(load_study(_doc(path)))
    path.write_text(_rates_text() + "\n", encoding="utf-8")  # same rows, other bytes
    third = spec_hash(load_study(_doc(path)))
    assert len({base, first, second, third}) == 4
    # moving the file keeps the hash (its content counts, not its name)
    other = tmp_path / "moved.csv"
    other.write_text(_rates_text(), encoding="utf-8")
    assert spec_hash(load_study(_doc(other))) == first


def test_the_lock_is_self_contained(tmp_path):
    study = load_study(_doc(RATES))
    freeze(study, tmp_path / "lock")
    assert load_lock(tmp_path / "lock") == study  # no rate file needed to reload it
    assert spec_hash(load_lock(tmp_path / "lock")) == spec_hash(study)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("outcome,age_lower", "outcome,lower"), "missing column(s) age_lower"),
        (lambda t: t.replace("lung,50,60,1,60\n", ""), "outcome 'lung': sex male (1): no age band for ages [50, 60)"),
        (lambda t: "\n".join(l for l in t.splitlines() if not l.startswith("skin,")) + "\n",
         "no rates for outcome 'skin'"),
        (lambda t: "\n".join(l for l in t.splitlines() if not (l.startswith("breast,") and l.endswith(",2," + l.split(",")[-1]) and ",2," in l)) + "\n",
         "outcome 'breast': no rate for sex female (2)"),
        (lambda t: t.replace("lung,80,,1,280", "lung,80,90,1,280"), "the last age band ends at 90"),
        (lambda t: t.replace("lung,18,40,1,2\n", "lung,20,40,1,2\n"), "no age band for ages [18, 20)"),
        (lambda t: t.replace("lung,40,50,1,15", "lung,35,50,1,15"), "overlap"),
        (lambda t: t.replace("lung,18,40,1,2\n", "lung,18,40,3,2\n"), "line 2: sex '3'"),
        (lambda t: t + "lungs,18,,1,2\n", "unknown outcome(s) 'lungs'"),
        (lambda t: t.replace("lung,18,40,1,2\n", "lung,18,40,1,-2\n"), "rate must be a finite number >= 0"),
    ],
    ids=["column", "gap", "outcome", "sex", "open_end", "low_end", "overlap", "bad_sex", "unknown", "negative"],
)
def test_bad_rate_files_are_located_errors(tmp_path, edit, message):
    errors = _errors(_with_file(tmp_path, edit(_rates_text())))
    assert any(loc == "reference_rates.file" and message in msg for loc, msg in errors), errors
    assert all("rates.csv" in msg for loc, msg in errors if loc == "reference_rates.file")


def test_missing_file_is_a_located_error():
    errors = _errors(_doc("no/such/rates.csv"))
    assert list(errors) == [("reference_rates.file", "no/such/rates.csv: no such file (the path is relative to the study file)")]


def test_a_bounded_age_range_needs_no_open_band(tmp_path):
    doc = _with_file(tmp_path, _rates_text().replace(",80,,", ",80,95,"))
    doc["inclusion"][0]["max_years"] = 75  # ages up to 76 at index, + 8 years of data: up to 85
    assert load_study(doc).reference_rates is not None
    doc["inclusion"][0]["max_years"] = 87  # up to 87 + 1 + 8 = 96
    assert any("the last age band ends at 95" in m for _, m in _errors(doc))


def test_rates_by_calendar_year_must_cover_every_year(tmp_path):
    lines = _rates_text().splitlines()
    rows = [f"{line},{y}" for line in lines[1:] for y in range(2010, 2018)]
    text = lines[0].replace("rate", "rate,calendar_year") + "\n" + "\n".join(rows) + "\n"
    study = load_study(_with_file(tmp_path, text))
    assert {r.calendar_year for r in study.reference_rates.rates} == set(range(2010, 2018))
    missing = text.replace("lung,18,40,1,2,2013\n", "")
    assert any("sex male (1), calendar year 2013: no age band for ages [18, 40)" in m
               for _, m in _errors(_with_file(tmp_path, missing)))


def test_age_and_sex_covariates_must_be_on():
    doc = _doc(RATES)
    doc["covariates"]["sex"] = False
    assert ("covariates.sex", "must be on: reference_rates are by age and sex (covariates.sex: true)") in _errors(doc)


def test_variants_keep_the_rates_and_controls_are_built_without_them():
    doc = _doc(RATES)
    doc["sensitivity"] = {"older": {"inclusion": [{"id": "adult", "rule": "age_at_index", "min_years": 10}]}}
    errors = _errors(doc)
    assert any(loc == "sensitivity.older.reference_rates.file" and "no age band for ages [10, 18)" in msg
               for loc, msg in errors), errors
    doc["sensitivity"] = {"blank": {"follow_up": {"blanking_days": 0}}}
    study = load_study(doc)
    assert resolve_variant(study, "blank").reference_rates == study.reference_rates
    controls = copy.deepcopy(shipped_document())
    controls["reference_rates"] = {"file": str(RATES)}
    controls["negative_controls"] = ["tobacco", "alcohol", "skin_cancer", "lung_cancer", "breast_cancer"]
    built = with_negative_controls(load_study(controls))
    assert built.reference_rates is None and "nc_tobacco" in built.outcomes


def test_per_and_rows_are_result_fields_and_file_is_not():
    study = load_study(_doc(RATES))
    h = spec_hash(study)
    assert spec_hash(load_study(_doc(RATES, per=1000))) != h
    data = study.model_dump()
    data["reference_rates"]["file"] = "elsewhere.csv"  # rows given: not read again
    assert spec_hash(load_study(data)) == h
    data["reference_rates"]["rates"][0]["rate"] += 1.0
    assert spec_hash(load_study(data)) != h
