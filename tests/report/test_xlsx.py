"""tables.xlsx and tables.html from Table objects: sheets, merged grouped headers, formulas neutralised."""

from __future__ import annotations

from openpyxl import load_workbook

from cohortstat.report.pubtables import Row, Table
from cohortstat.report.suppression import scan_outputs
from cohortstat.report.xlsx import tables_html, write_xlsx


def _tables():
    t1 = Table("Table 1", "Table 1. Test", [[("", 1), ("Before", 3), ("After", 3)],
                                            [("Characteristic", 1)] + [("A", 1), ("B", 1), ("SMD", 1)] * 2])
    t1.rows = [Row(["Demographics"], section=True),
               Row(["=HYPERLINK(\"x\")", "12 (40.0)", "<10", "0.100", "11 (40.0)", "*", "0.050"], counts=(1, 2, 4, 5)),
               Row(["female", "18 (60.0)", "20 (66.7)", "", "17 (60.0)", "19 (63.3)", ""], indent=True,
                   counts=(1, 2, 4, 5))]
    t1.notes = ["<10: a count from 1 to 9 (not shown)."]
    t2 = Table("Hazard ratios", "Table 3. Test", [[("Outcome", 1), ("HR", 1)]], [Row(["Lung", "0.50 (0.40 to 0.70)"])])
    return [t1, t2]


def test_one_sheet_per_table_with_merged_group_headers_and_no_formula(tmp_path):
    write_xlsx(_tables(), tmp_path / "tables.xlsx")
    wb = load_workbook(tmp_path / "tables.xlsx")
    assert wb.sheetnames == ["Table 1", "Hazard ratios"]
    ws = wb["Table 1"]
    assert ws["A1"].value == "Table 1. Test"
    assert ws["B2"].value == "Before" and ws["E2"].value == "After"
    assert {str(r) for r in ws.merged_cells.ranges} == {"B2:D2", "E2:G2"}
    assert ws["A4"].value == "Demographics" and ws["A4"].font.italic
    assert ws["A5"].value == "'=HYPERLINK(\"x\")" and ws["A5"].data_type == "s"
    assert ws["A6"].value.strip() == "female" and ws["B6"].value == "18 (60.0)"
    assert ws["A8"].value.startswith("<10")


def test_plain_html_marks_counts_and_the_scan_accepts_the_pair(tmp_path):
    html = tables_html(_tables(), "T")
    assert "<script" not in html and "<style" not in html
    assert '<th colspan="3">Before</th>' in html
    assert '<td><span class="count">12</span> (40.0)</td>' in html
    (tmp_path / "tables.html").write_text(html, encoding="utf-8")
    write_xlsx(_tables(), tmp_path / "tables.xlsx")
    assert scan_outputs(tmp_path, 10) == []
    bad = _tables()
    bad[0].rows[2].cells[1] = "7 (60.0)"  # a small count in a count cell
    (tmp_path / "tables.html").write_text(tables_html(bad, "T"), encoding="utf-8")
    write_xlsx(bad, tmp_path / "tables.xlsx")
    assert any("7" in str(p) for p in scan_outputs(tmp_path, 10))
