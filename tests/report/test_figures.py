"""Report figures: deterministic SVG, counts as text with ids the disclosure scan reads."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd

from cohortstat.report.figures import attrition_flow, cif_plot, forest_plot

NS = "{http://www.w3.org/2000/svg}"


def _cif():
    rows = []
    for g, h in (("sepsis", 0.0004), ("trauma", 0.0002)):
        t = np.arange(30, 2900, 30.0)
        n = np.linspace(500, 8, len(t)).round()
        rows.append(pd.DataFrame({"group": g, "time": t, "n_risk": n, "estimate": 1 - np.exp(-h * t)}))
    return pd.concat(rows, ignore_index=True)


AT_RISK = pd.DataFrame({"group": ["sepsis"] * 3 + ["trauma"] * 3, "year": [0, 1, 2] * 2,
                        "n_risk": [500, 230, "<10", 1200, 800, 25]})


def _count_texts(svg: str) -> dict[str, str]:
    root = ET.fromstring(svg)
    return {g.get("id"): "".join(g.itertext()).strip() for g in root.iter(f"{NS}g")
            if (g.get("id") or "").startswith("count")}


def test_cif_plot_is_deterministic_and_shows_suppressed_at_risk():
    a = cif_plot(_cif(), AT_RISK, groups=("sepsis", "trauma"), labels={"sepsis": "Sepsis"}, title="Lung")
    b = cif_plot(_cif(), AT_RISK, groups=("sepsis", "trauma"), labels={"sepsis": "Sepsis"}, title="Lung")
    assert a == b and a.startswith("<svg")
    counts = _count_texts(a)
    assert counts["count-risk-0-0"] == "500" and counts["count-risk-0-2"] == "<10"
    assert counts["count-risk-1-0"] == "1,200"
    assert "Number at risk" in a and "<metadata>" not in a


def test_forest_plot_draws_each_model():
    models = pd.DataFrame({"outcome": ["lung", "lung", "skin", "skin"],
                           "model": ["cox_adjusted", "fg_adjusted"] * 2,
                           "hr": [0.75, 0.7, 1.1, 1.0], "ci_lower": [0.6, 0.55, 0.9, 0.8],
                           "ci_upper": [0.95, 0.9, 1.3, 1.2]})
    svg = forest_plot(models, outcome_labels={"lung": "Lung cancer", "skin": "Skin cancer"},
                      model_labels={"cox_adjusted": "Cox, adjusted", "fg_adjusted": "Fine-Gray, adjusted"})
    ET.fromstring(svg)
    for text in ("Lung cancer", "Skin cancer", "Cox, adjusted", "Fine-Gray, adjusted", "Hazard ratio"):
        assert text in svg
    assert svg == forest_plot(models, outcome_labels={"lung": "Lung cancer", "skin": "Skin cancer"},
                              model_labels={"cox_adjusted": "Cox, adjusted", "fg_adjusted": "Fine-Gray, adjusted"})


def test_attrition_flow_boxes_hold_the_suppressed_counts():
    att = pd.DataFrame({"step": [0, 1], "rule_id": ["entry", "adult"], "description": ["First stay", "Adults"],
                        "n_s": [1500, "*"], "n_t": [900, 850], "excluded_s": [None, "<10"], "excluded_t": [None, 50]})
    svg = attrition_flow(att, groups=("s", "t"), labels={"s": "Sepsis", "t": "Trauma"})
    counts = _count_texts(svg)
    assert counts["count-flow-0-0"] == "n = 1,500" and counts["count-flow-0-1"] == "n = *"
    assert counts["count-excl-0-1"].split() == ["excluded", "<10"]
    assert counts["count-flow-1-1"] == "n = 850"
