"""Publication tables (Table 1 before/after, incidence, hazard ratios, STROBE/RECORD), their xlsx and
plain-HTML copies, and the methods text, on the shipped study run on small synthetic data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cohortstat.report.labels import human, human_text
from cohortstat.report.methods import code_ranges
from cohortstat.report.suppression import scan_outputs
from cohortstat.run import run
from tests.core_study import core_study_path

STUDY = core_study_path()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from cohortstat.data.synth import generate

    return generate(20_000, 7, tmp_path_factory.mktemp("d20k") / "data")


@pytest.fixture(scope="module")
def report(data, tmp_path_factory):
    return run(STUDY, data, tmp_path_factory.mktemp("pub") / "out")


@pytest.fixture(scope="module")
def matched(data, tmp_path_factory):
    from cohortstat.spec import load_study

    text = STUDY.read_text().replace("    method: none", "    method: matching\n    exact: [age, sex]")
    return run(None, data, tmp_path_factory.mktemp("pubm") / "out", study=load_study(text))


def _cells(path: Path) -> list[list[str]]:
    """The rows of every table of an HTML file, as lists of cell texts."""
    text = path.read_text(encoding="utf-8")
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", text, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).replace("&#160;", " ").strip()
                 for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)]
        rows.append(cells)
    return rows


def test_table_one_has_human_labels_one_row_per_binary_and_no_raw_names(report):
    rows = _cells(report / "tables" / "tables.html")
    labels = [r[0] for r in rows if r]
    for name in ("Myocardial infarction, n (%)", "Congestive heart failure, n (%)",
                 "Cerebrovascular disease, n (%)", "Diabetes with chronic complication, n (%)",
                 "Moderate or severe liver disease, n (%)"):
        assert name in labels
    assert "no" not in labels and "yes" not in labels  # binaries: the "yes" level only, as one row
    text = (report / "tables" / "tables.html").read_text()
    for raw in (">mi<", ">cevd<", "diabwc", "msld", "cci_", "Charlson: ", "Flag: "):
        assert raw not in text, raw


def test_zero_by_design_components_are_omitted_with_a_note(report):
    res = json.loads((report / "results.json").read_text())
    canc = next(r for r in res["table_one"] if r["variable"] == "Charlson: canc" and r["level"] == "yes")
    assert canc["n_sepsis"] == 0 and canc["n_trauma"] == 0 and canc["show"] is False
    rows = _cells(report / "tables" / "tables.html")
    assert not any(r and r[0].startswith("Any malignancy") for r in rows)
    html = (report / "report.html").read_text()
    assert "Not shown (no patient of either group has it; excluded by the inclusion rule" in html
    assert "Metastatic solid tumour" in html


def test_follow_up_per_group_and_footnotes_for_every_mark(report):
    rows = _cells(report / "tables" / "tables.html")
    fu = next(r for r in rows if r and r[0] == "Follow-up, years, median (IQR)")
    assert all(re.fullmatch(r"\d+\.\d \(\d+\.\d to \d+\.\d\)", c) for c in fu[1:3])
    py = next(r for r in rows if r and r[0] == "Person-years")
    assert all(float(c.replace(",", "")) > 0 for c in py[1:3])
    html = (report / "tables" / "tables.html").read_text()
    body = html.split("<tbody>")[1]
    if "*" in re.sub(r"<p>.*?</p>", "", body, flags=re.S):
        assert "*: a count not shown" in html
    assert "&lt;10: a count from 1 to 9" in html


def test_xlsx_has_one_sheet_per_table_with_the_html_cells(report):
    from openpyxl import load_workbook

    wb = load_workbook(report / "tables" / "tables.xlsx")
    assert wb.sheetnames == ["Table 1", "Incidence", "Hazard ratios", "STROBE-RECORD"]
    t1 = [c for row in wb["Table 1"].iter_rows(values_only=True) for c in row if c]
    assert "Table 1. Baseline characteristics of the study population" in t1
    assert any(str(c).strip() == "Myocardial infarction, n (%)" for c in t1)
    hr = [row for row in wb["Hazard ratios"].iter_rows(values_only=True) if row[1] == "Cox, adjusted"]
    assert len(hr) == 5  # one per outcome
    assert scan_outputs(report, 10) == []


def test_xlsx_with_a_cell_absent_from_the_html_fails_the_scan(report, tmp_path):
    import shutil

    from openpyxl import load_workbook

    copy = tmp_path / "copy"
    shutil.copytree(report, copy)
    wb = load_workbook(copy / "tables" / "tables.xlsx")
    wb["Table 1"]["B5"] = "3 (0.1)"
    wb.save(copy / "tables" / "tables.xlsx")
    assert any("not a cell of tables.html" in str(p) for p in scan_outputs(copy, 10))


def test_strobe_checklist_answers_every_item(report):
    rows = _cells(report / "tables" / "tables.html")
    start = next(i for i, r in enumerate(rows) if r == ["Item", "Recommendation", "Where the report answers it"])
    items = rows[start + 1:]
    assert len(items) >= 40
    assert all(len(r) == 3 and all(c.strip() for c in r) for r in items)
    where = {r[0]: r[2] for r in items}
    assert where["10"].startswith("Not answerable by the report")
    assert where["12e"].startswith("Not applicable")  # the shipped study has no sensitivity analysis
    assert "Table 1" in where["14c"]


def test_methods_text_ranges_source_fingerprint_and_sentences(report):
    html = (report / "report.html").read_text()
    methods = html.split('id="methods"')[1].split('id="strobe"')[0]
    assert "S00–T14" in methods and "C00–C97" in methods and "S01" not in methods
    assert "PMSI" in methods and "data fingerprint (SHA-256" in methods
    lock = json.loads((report / "study.lock.json").read_text())
    assert lock["spec_hash"] in methods
    for bad in ("+ 0 days", "both groups: exclude", "crr variance", "(crr", "_age_band"):
        assert bad not in methods, bad
    assert "Patients with qualifying index stays for both groups were excluded." in methods
    assert "E-value" in html and "hazard ratio of its row, crude or adjusted" in html


def test_matched_study_shows_table_one_before_and_after_and_no_internal_name(matched):
    res = json.loads((matched / "results.json").read_text())
    assert res["table_one_adjusted"]
    n_after = next(r for r in res["table_one_adjusted"] if r["kind"] == "n")
    final = res["attrition"][-1]
    assert n_after["n_sepsis"] == final["n_sepsis"]  # the matched sample
    rows = _cells(matched / "tables" / "tables.html")
    assert any("Before matching" in r and "After matching" in r for r in rows)
    age = next(r for r in rows if r and r[0] == "Age, years, mean (SD)")
    assert len(age) == 7 and age[4] != "-"
    for path in matched.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".csv", ".svg", ".log"):
            assert "_age_band" not in path.read_text(encoding="utf-8"), path
    assert scan_outputs(matched, 10) == []


def test_code_ranges_merge_consecutive_codes():
    codes = [f"S{i:02d}" for i in range(100)] + [f"T{i:02d}" for i in range(15)]
    assert code_ranges(codes) == "S00–T14"
    assert code_ranges(["A40", "A41", "R572", "R650", "R651"]) == "A40–A41, R572, R650–R651"
    assert code_ranges(["C00", "C02", "C03"]) == "C00, C02–C03"


def test_internal_names_become_reader_names():
    assert human("cci_mi") == "Myocardial infarction" and human("cci_msld") == "Moderate or severe liver disease"
    assert human("female") == "Female sex" and human("calendar_year[2011]") == "Calendar year of index: 2011"
    assert human_text("exact matching on _age_band, sex: 4 strata") == "exact matching on age band, sex: 4 strata"
