"""Red team: hostile text from a study file (labels, descriptions, titles) in every output format.

A ``$`` is drawn literally (no mathtext), control characters (NUL included) never reach an SVG or the HTML
(both stay well-formed), markup is escaped, and a text cell that a spreadsheet would run as a formula
(``=HYPERLINK(...)``, ``+``, ``-``, ``@``) is written as text in every CSV.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from cohortstat.report.figures_cif import cif_figure
from cohortstat.report.figures_flow import flow_figure
from cohortstat.report.figures_forest import forest_figure
from cohortstat.report.style import render
from cohortstat.report.figures_balance import love_plot, preference_plot
from cohortstat.report.safe_text import csv_cell, mpl, plain
from tests.core_study import core_study_path

ROOT = Path(__file__).resolve().parents[2]
DOLLAR = "Sepsis $5 and $x^2$ cost"
CONTROL = "Trauma\x00 with \x07bell\x1b[31m and \x7f"
MARKUP = "<script>alert(1)</script> & <b>bold</b>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The report of a small study whose every label and description is hostile."""
    import cohortstat as cs
    from cohortstat.data.synth import generate
    from cohortstat.report.writer import write_report

    tmp = tmp_path_factory.mktemp("hostile")
    data = generate(800, 5, tmp / "data")
    study = cs.load_study(core_study_path())
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        results = cs.analyze(study, cs.build_cohort(study, data=data))
    att = results.attrition.copy()
    att["description"] = [FORMULA, "+SUM(A1:A2)", "-2+3", "@cmd", MARKUP, DOLLAR][: len(att)] + list(
        att["description"][6:])
    outcomes = tuple(dataclasses.replace(o, label=f"{o.label} {DOLLAR} {CONTROL}") for o in results.outcomes)
    study = study.model_copy(update={"title": f"Title {MARKUP} {CONTROL}", "description": f"{MARKUP} {DOLLAR}"})
    hostile_results = dataclasses.replace(
        results, study=study, attrition=att, outcomes=outcomes,
        labels={results.groups[0]: DOLLAR + " " + MARKUP, results.groups[1]: CONTROL},
        notes=results.notes + (f"note with {CONTROL} and {MARKUP}",),
    )
    out = write_report(hostile_results, tmp / "out", 10)
    return out


def test_every_svg_is_well_formed_and_holds_no_control_character(hostile):
    for svg in (hostile / "figures").glob("*.svg"):
        text = svg.read_text(encoding="utf-8")
        ET.fromstring(text)
        assert plain(text) == text, svg.name


def test_dollar_signs_are_drawn_literally(hostile):
    text = (hostile / "figures" / "cif_lung.svg").read_text(encoding="utf-8")
    assert "$5 and $x^2$ cost" in text  # the label as written, not typeset as mathematics


def test_html_escapes_markup_and_drops_control_characters(hostile):
    html = (hostile / "report.html").read_text(encoding="utf-8")
    assert "\x00" not in html and plain(html) == html
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold" not in html
    body = html.split("<body>", 1)[1].split("</body>")[0]
    ET.fromstring(f"<body>{body}</body>".replace("&nbsp;", " "))


def test_results_json_has_no_control_characters(hostile):
    text = (hostile / "results.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    assert "\\u0000" not in text and "\x00" not in text
    assert doc["labels"][doc["groups"][1]] == "Trauma with bell[31m and "


def test_csv_text_cells_cannot_run_as_spreadsheet_formulas(hostile):
    with (hostile / "attrition.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    descriptions = [r["description"] for r in rows]
    assert descriptions[:4] == ["'" + FORMULA, "'+SUM(A1:A2)", "'-2+3", "'@cmd"]
    for path in hostile.rglob("*.csv"):
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    if cell.startswith(("=", "+", "@")):
                        pytest.fail(f"{path.name}: formula cell {cell!r}")
                    if cell.startswith("-"):
                        float(cell)  # only a negative number may start with a minus sign


def test_numbers_are_never_altered_by_the_csv_guard():
    assert csv_cell(-0.5) == -0.5 and csv_cell(3) == 3 and csv_cell(None) is None
    assert csv_cell("<10") == "<10" and csv_cell("*") == "*"
    assert csv_cell("\t=1") == "'\t=1"


def test_matplotlib_text_is_never_parsed_as_mathtext():
    import io

    import matplotlib
    from matplotlib.figure import Figure

    for label in ("$", "$$", "a $b$ c", "\\$x$", "50% $ off", "$\\frac{1}{0}$"):
        fig = Figure()
        fig.text(0.1, 0.1, mpl(label), gid="label")
        buf = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            fig.savefig(buf, format="svg")  # mathtext would raise on "$\\frac{1}{0}" or typeset "$b$"
        root = ET.fromstring(buf.getvalue())
        texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert texts == [label], (label, texts)


def test_each_figure_accepts_hostile_labels_directly():
    cif = pd.DataFrame({"group": ["a", "a", "b"], "time": [100.0, 400.0, 200.0], "n_risk": [50, 40, 30],
                        "estimate": [0.1, 0.2, 0.1], "ci_lower": [0.05, 0.1, 0.05], "ci_upper": [0.2, 0.3, 0.2]})
    at_risk = pd.DataFrame({"group": ["a", "a", "b", "b"], "year": [0, 1] * 2, "n_risk": [50, 40, 30, 20]})
    labels = {"a": DOLLAR, "b": CONTROL + MARKUP}
    svgs = [
        render(cif_figure({"outcome": cif, "death": cif}, at_risk, groups=("a", "b"), labels=labels,
                          titles={"outcome": DOLLAR + CONTROL, "death": MARKUP}, years=(0, 1),
                          follow_up_years=1.5)).svg,
        render(forest_figure(pd.DataFrame({"outcome": ["o"], "model": ["cox_crude"], "hr": [1.2], "ci_lower": [0.9],
                                           "ci_upper": [1.5], "events": [DOLLAR]}),
                             outcome_labels={"o": DOLLAR + CONTROL}, model_labels={"cox_crude": MARKUP})).svg,
        render(flow_figure(pd.DataFrame({"rule_id": ["entry"], "description": [FORMULA + CONTROL], "n_a": [50],
                                         "n_b": [30]}), groups=("a", "b"), labels=labels,
                           source=DOLLAR + CONTROL)).svg,
        love_plot(pd.DataFrame({"covariate": [DOLLAR + CONTROL], "smd_before": [0.2], "smd_after": [0.01]}),
                  title=DOLLAR, after_label=CONTROL),
        preference_plot(pd.DataFrame({"sample": ["all"], "group": [CONTROL + DOLLAR], "bin_lower": [0.0],
                                      "bin_upper": [0.1], "proportion": [0.3]}), title=DOLLAR),
    ]
    for svg in svgs:
        ET.fromstring(svg[svg.find("<svg"):])
        assert plain(svg) == svg
