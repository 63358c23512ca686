"""The report's design tables read the published estimates: which rows, which values, in which order."""

from __future__ import annotations

from cohortstat.report.design_tables import design_tables


def _row(**kw):
    base = {"analysis": "main", "outcome": "lung", "subgroup": "", "level": "", "period": "", "model": "cox",
            "adjustment": "adjusted", "term": "exposure", "estimate_type": "hr", "estimate": 0.8, "ci_lower": 0.6,
            "ci_upper": 1.1, "p": 0.2, "calibrated_ci_lower": None, "calibrated_ci_upper": None,
            "calibrated_p": None, "events_exposed": 40, "events_reference": "<10"}
    base.update(kw)
    return base


def _data(rows):
    return {"estimates": rows, "min_cell_count": 10, "outcomes": {"lung": {"label": "Lung cancer"}}}


def test_no_designs_no_tables():
    assert design_tables(_data([_row(), _row(adjustment="crude", estimate=1.3)]), {}) == []


def test_sensitivity_rows_take_each_analysis_own_adjustment():
    rows = [_row(), _row(adjustment="crude", estimate=1.5),
            _row(analysis="iptw", adjustment="adjusted", estimate=0.81),
            _row(analysis="iptw", adjustment="weighted", estimate=0.77, ci_lower=0.5, ci_upper=1.2, p=0.0004),
            _row(analysis="blanking_2y", estimate=0.9)]
    (t,) = design_tables(_data(rows), {"iptw": "weighting", "blanking_2y": "two years of blanking"})
    assert t.title.startswith("Table 4. Sensitivity analyses")
    cells = [r.cells for r in t.rows]
    assert cells[0] == ["Lung cancer", "main analysis", "40 / <10", "0.80 (0.60 to 1.10)", "0.200", "Cox, adjusted"]
    assert cells[1][1:] == ["weighting", "40 / <10", "0.77 (0.50 to 1.20)", "<0.001", "Cox, weighted"]
    assert cells[2][1] == "two years of blanking" and cells[2][3].startswith("0.90")


def test_subgroups_periods_and_calibration_are_numbered_in_order():
    rows = [_row(calibrated_ci_lower=0.5, calibrated_ci_upper=1.3, calibrated_p=0.4),
            _row(subgroup="sex", level="female", estimate=0.7), _row(subgroup="sex", level="male", estimate=0.9),
            _row(subgroup="sex", term="interaction", estimate=None, p=0.03),
            _row(period="365-730", estimate=0.5), _row(period="730-1825", estimate=1.0),
            _row(term="heterogeneity", estimate=None, p=0.011),
            _row(outcome="nc_glaucoma", estimate=1.2, ci_lower=0.9, ci_upper=1.6)]
    sub, per, cal = design_tables(_data(rows), {})
    assert [t.title.split(".")[0] for t in (sub, per, cal)] == ["Table 4", "Table 5", "Table 6"]
    assert [r.cells[2] for r in sub.rows] == ["female", "male"]
    assert sub.rows[0].cells[5] == "0.030" and sub.rows[1].cells[5] == ""
    assert [r.cells[1] for r in per.rows] == ["365 to 730", "730 to 1825"]
    assert per.rows[0].cells[4] == "0.011"
    assert cal.rows[0].cells[4:] == ["0.50 to 1.30", "0.400"]
    assert cal.rows[1].section and cal.rows[2].cells[:3] == ["glaucoma", "Cox, adjusted", "1.20 (0.90 to 1.60)"]
