"""Balance figures: valid, deterministic SVG that shows what the tables hold."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ReportError
from cohortstat.report.figures_balance import love_plot, preference_plot, write_svg

BAL = pd.DataFrame(
    {
        "covariate": ["age", "female", "charlson"],
        "smd_before": [0.78, -0.06, 0.66],
        "smd_after": [0.01, 0.02, np.nan],
    }
)


def preference_table():
    edges = np.linspace(0, 1, 21)
    rows = []
    for sample in ("all", "matched"):
        for g, centre in (("sepsis", 0.6), ("trauma", 0.4)):
            p = np.exp(-((edges[:-1] + 0.025 - centre) ** 2) / 0.02)
            p = p / p.sum()
            for lo, hi, pr in zip(edges[:-1], edges[1:], p):
                rows.append(
                    {"sample": sample, "group": g, "bin_lower": lo, "bin_upper": hi, "proportion": pr}
                )
    out = pd.DataFrame(rows)
    out.loc[3, "proportion"] = np.nan  # a suppressed cell
    return out


def test_love_plot_deterministic_svg(tmp_path):
    a = love_plot(BAL, after_label="matched")
    b = love_plot(BAL, after_label="matched")
    assert a == b
    root = ET.fromstring(a)
    assert root.tag.endswith("svg")
    assert "<dc:date>" not in a  # no creation date
    # text is kept as SVG <text> (the report's style), so it prints sharply and can be scanned
    texts = {"".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"age", "female", "charlson", "matched", "before"} <= texts
    p = write_svg(a, tmp_path / "love.svg")
    assert p.read_text(encoding="utf-8") == a


def test_preference_plot_two_panels():
    svg = preference_plot(preference_table())
    assert svg == preference_plot(preference_table())
    root = ET.fromstring(svg)
    texts = {"".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"Preference score (all)", "Preference score (matched)"} <= texts
    assert svg.count('id="axes_') == 2


def test_missing_columns():
    with pytest.raises(ReportError, match="balance table lacks column"):
        love_plot(BAL.drop(columns="smd_after"))
    with pytest.raises(ReportError, match="preference table lacks column"):
        preference_plot(preference_table().drop(columns="proportion"))
