"""Report figures: one style, deterministic SVG + 300-dpi PNG, counts as text with ids the disclosure scan
reads; the curve data of the analysis layer and their published (suppressed) form."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cohortstat.analysis.curves import FIXED_YEARS, display_years, outcome_curves
from cohortstat.report.figures_cif import cif_figure
from cohortstat.report.figures_flow import flow_figure
from cohortstat.report.figures_forest import forest_figure, hr_ticks
from cohortstat.report.protect import coarsen_cif
from cohortstat.report.style import PNG_DPI, WIDTH, render

NS = "{http://www.w3.org/2000/svg}"


def _count_texts(svg: str) -> dict[str, str]:
    root = ET.fromstring(svg)
    return {g.get("id"): "".join(g.itertext()).strip() for g in root.iter(f"{NS}g")
            if (g.get("id") or "").startswith("count")}


def _texts(svg: str) -> list[str]:
    return ["".join(t.itertext()).strip() for t in ET.fromstring(svg).iter(f"{NS}text")]


def _sample(n=600, seed=5, weights=False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    t = np.minimum(rng.exponential(1500, n), rng.uniform(200, 2600, n)).round() + 1
    ev = rng.choice([0, 1, 2], n, p=[0.5, 0.2, 0.3])
    df = pd.DataFrame({"group": np.where(g == 1, "sepsis", "trauma"), "time": t, "event": ev})
    if weights:
        df["weight"] = rng.uniform(0.5, 2.0, n)
    return df


def test_render_gives_reproducible_svg_and_a_300_dpi_png():
    att = pd.DataFrame({"rule_id": ["entry", "adult"], "description": ["First stay", "Adults"],
                        "n_s": [1500, 1400], "n_t": [900, 850], "excluded_s": [None, 100], "excluded_t": [None, 50]})
    a = render(flow_figure(att, groups=("s", "t"), labels={"s": "Sepsis", "t": "Trauma"}))
    b = render(flow_figure(att, groups=("s", "t"), labels={"s": "Sepsis", "t": "Trauma"}))
    assert a.svg == b.svg and a.png == b.png and a.svg.startswith("<svg") and "<metadata>" not in a.svg
    im = Image.open(io.BytesIO(a.png))
    assert im.format == "PNG" and im.size[0] == round(WIDTH * PNG_DPI)


def test_flow_has_a_source_box_reasons_and_remaining_counts_never_truncated():
    long = "No cancer diagnosis in any role in the two years before, or during, the index stay"
    att = pd.DataFrame({"rule_id": ["entry", "in_both", "no_prior_cancer"],
                        "description": ["First qualifying stay per patient admitted 2010-01-01 to 2016-12-31",
                                        "Patients with index stays in both groups excluded", long],
                        "n_s": [1500, 1400, "*"], "n_t": [900, 850, 700], "excluded_s": [None, 100, "<10"],
                        "excluded_t": [None, 50, 150]})
    svg = render(flow_figure(att, groups=("s", "t"), labels={"s": "Sepsis", "t": "Trauma"},
                             source="Source population: PMSI-MCO, 2010 to 2016")).svg
    counts = _count_texts(svg)
    assert counts["count-flow-0-0"] == "n = 1,500"
    assert counts["count-flow-0-1"] == "n = 1,400 remaining" and counts["count-flow-1-2"] == "n = 700 remaining"
    assert counts["count-flow-0-2"] == "n = * remaining" and counts["count-excl-0-2"] == "n = <10"
    words = " ".join(_texts(svg)).split()
    assert " ".join(words).count("two years before, or during, the index stay") == 4  # boxes and reasons, full
    assert "Excluded: qualified for both groups" in " ".join(words)
    assert "Source population: PMSI-MCO, 2010 to 2016" in " ".join(words)
    assert not any("..." in t or "…" in t for t in _texts(svg))
    assert "both" not in " ".join(v for v in counts.values())


def test_outcome_curves_cover_outcome_and_death_with_limits_and_fixed_times_within_follow_up():
    df = _sample()
    c = outcome_curves(df, "time", "event", ("sepsis", "trauma"))
    assert set(c.cif) == {"outcome", "death"}
    for cif in c.cif.values():
        assert (cif["ci_lower"].fillna(0) <= cif["estimate"] + 1e-12).all()
        assert (cif["estimate"] <= cif["ci_upper"] + 1e-12).all()
    assert c.follow_up_years == pytest.approx(df["time"].max() / 365.25)
    assert tuple(sorted(c.at_risk["year"].unique())) == display_years(c.follow_up_years)
    years = sorted(c.fixed_times["year"].unique())
    assert years == [y for y in FIXED_YEARS if y <= c.follow_up_years] and 10 not in years
    n0 = c.at_risk.loc[c.at_risk["year"] == 0].set_index("group")["n_risk"]
    assert n0.to_dict() == df.groupby("group").size().to_dict()


def test_weighted_curves_keep_person_counts_and_use_the_weights():
    df = _sample(weights=True)
    plain = outcome_curves(df, "time", "event", ("sepsis", "trauma"))
    w = outcome_curves(df, "time", "event", ("sepsis", "trauma"), weights="weight", population="weighted")
    a, b = plain.cif["outcome"], w.cif["outcome"]
    assert a["time"].tolist() == b["time"].tolist() and a["n_event"].tolist() == b["n_event"].tolist()
    assert a["n_risk"].tolist() == b["n_risk"].tolist()  # persons, not weighted sums
    assert not np.allclose(a["estimate"], b["estimate"])
    assert w.population == "weighted"


def test_display_years_keep_the_at_risk_table_legible():
    assert display_years(6.0) == (0, 1, 2, 3, 4, 5, 6)
    assert display_years(6.99) == (0, 2, 4, 6)
    assert display_years(20) == (0, 5, 10, 15, 20)


def test_cif_figure_draws_both_panels_bands_and_aligned_at_risk_numbers():
    c = outcome_curves(_sample(), "time", "event", ("sepsis", "trauma"))
    corners = {k: pd.concat([coarsen_cif(v.loc[v["group"] == g], 10).assign(group=g) for g in ("sepsis", "trauma")])
               for k, v in c.cif.items()}
    at_risk = c.at_risk.astype({"n_risk": object})
    at_risk.loc[at_risk.index[-1], "n_risk"] = "<10"
    years = display_years(c.follow_up_years)
    fig = cif_figure(corners, at_risk, groups=("sepsis", "trauma"), labels={"sepsis": "Sepsis or severe infection"},
                     titles={"outcome": "Lung cancer", "death": "Death (competing event)"}, years=years,
                     follow_up_years=c.follow_up_years)
    ax_out, ax_death = fig.axes
    assert ax_out.get_xlim()[1] == pytest.approx(c.follow_up_years)
    assert len(ax_out.collections) == 2 and len(ax_death.collections) == 2  # one band per group
    svg = render(fig).svg
    counts = _count_texts(svg)
    last = f"count-risk-1-{years[-1]:g}-0"
    assert counts[last] == "<10" and counts[last.replace("-0", "-1")] == "<10"
    assert counts["count-risk-0-0-0"] == f"{int(c.at_risk['n_risk'].iloc[0]):,}"
    texts = _texts(svg)
    assert "Sepsis or severe infection" in texts and "Number at risk" in texts and "Death (competing event)" in texts


def test_hr_ticks_are_plain_and_include_one():
    left, ticks, right = hr_ticks(0.3, 2.5)
    assert 1 in ticks and 0.5 in ticks and 2 in ticks and left < 0.3 and right > 2.5


def test_forest_has_plain_ticks_text_columns_and_the_table_order():
    models = pd.DataFrame({"outcome": ["skin", "skin", "lung", "lung"],
                           "model": ["cox_crude", "fg_crude", "cox_crude", "fg_crude"],
                           "hr": [0.75, 0.7, 1.1, 1.0], "ci_lower": [0.4, 0.55, 0.9, 0.8],
                           "ci_upper": [0.95, 0.9, 2.3, 1.2],
                           "events": ["<10 / 43", "<10 / 43", "41 / 259", "41 / 259"]})
    label = "Skin cancer (melanoma and non-melanoma)"
    svg = render(forest_figure(models, outcome_labels={"skin": label, "lung": "Lung cancer"},
                               model_labels={"cox_crude": "Cox, crude", "fg_crude": "Fine-Gray, crude"})).svg
    texts = _texts(svg)
    assert {"0.5", "1", "2"} <= set(texts) and not any("10" in t and "^" in t for t in texts)
    assert "0.75 (0.40 to 0.95)" in texts and "HR (95% CI)" in texts
    joined = " ".join(texts)
    assert joined.index("Skin cancer") < joined.index("Lung cancer")  # input (table) order kept
    assert " ".join(joined.split()).count(label) >= 1 or all(w in joined for w in label.split())
    assert sorted(_count_texts(svg).values()) == sorted(models["events"])


def _declared(values: dict, population: str = "matched"):
    from types import SimpleNamespace

    from cohortstat.analysis.curves import OutcomeCurves
    from cohortstat.report.protect import Context
    from cohortstat.report.published_curves import declare_curves

    rows = [{"group": g, "year": 2 * i, "n_risk": v} for g, vs in values.items() for i, v in enumerate(vs)]
    curves = OutcomeCurves(population=population, cif={}, at_risk=pd.DataFrame(rows), fixed_times=pd.DataFrame())
    ctx = Context(SimpleNamespace(groups=tuple(values)), 10)
    o = SimpleNamespace(name="lung", curves=curves)
    declare_curves(ctx, o)
    ctx.ledger.solve()
    return {key[1:]: ctx.ledger.show(k) for key, k in ((("x", *kk), v) for kk, v in ctx.curve_at_risk.items())}


def test_numbers_at_risk_under_the_curves_are_suppressed_and_not_derivable_by_difference():
    shown = _declared({"a": [500, 495, 300, 5], "b": [800, 600, 600, 40]})
    k = 10
    assert shown[("lung", "a", 6)] == "<10"  # a small count
    for g, years in (("a", (0, 2, 4, 6)), ("b", (0, 2, 4, 6))):
        vals = [shown[("lung", g, y)] for y in years]
        assert all(not (isinstance(v, int) and 0 < v < k) for v in vals)
        for x, y in zip(vals, vals[1:]):  # no published difference of 1..k-1 between adjacent marks
            if isinstance(x, int) and isinstance(y, int):
                assert not 0 < x - y < k, (g, vals)
    assert shown[("lung", "a", 0)] == "*" or shown[("lung", "a", 2)] == "*"  # 500 - 495 = 5 hidden
    assert shown[("lung", "b", 2)] == 600 and shown[("lung", "b", 4)] == 600  # a difference of 0 is fine


def test_grid_forest_rows_study_outcomes_in_order_with_readable_labels():
    from types import SimpleNamespace

    from cohortstat.report.figures import _grid_rows
    from cohortstat.report.figures_forest import grid_forest_figure

    def est(analysis, outcome, adjustment="adjusted", subgroup=None, level=None, period=None, hr=1.2):
        return {"analysis": analysis, "outcome": outcome, "model": "cox", "adjustment": adjustment, "term": "exposure",
                "subgroup": subgroup, "level": level, "period": period, "estimate": hr, "ci_lower": hr / 1.5,
                "ci_upper": hr * 1.5}

    data = {"estimates": [est("main", "b"), est("main", "a"), est("main", "a", "crude", hr=3.0),
                          est("main", "a", subgroup="age_band", level="<50"), est("main", "nc_x"),
                          est("blanking_2y", "a"), est("main", "a", period="365-730")]}
    outcomes = [SimpleNamespace(name="a", label="Lung cancer"), SimpleNamespace(name="b", label="Skin cancer")]
    rows, title = _grid_rows(data, outcomes)
    assert list(dict.fromkeys(rows["outcome"])) == ["a", "b"] and "nc_x" not in set(rows["outcome"])
    assert set(rows["row"]) == {"Main analysis", "Age band: <50", "Sensitivity: blanking 2y", "Days 365-730"}
    assert 3.0 not in set(rows["hr"]) and title.startswith("Cox, adjusted")
    fig = grid_forest_figure(rows, outcome_labels={"a": "Lung cancer", "b": "Skin cancer"}, title=title)
    assert len(fig.axes) == 2 and all(len(ax.get_xticks()) <= 3 and 1 in ax.get_xticks() for ax in fig.axes)
    assert "Main analysis" in _texts(render(fig).svg)


def _chromium_test_results():
    """The small complete StudyResults of test_html_chromium (real Cox fit and aggregates), with curves."""
    import importlib.util
    from dataclasses import replace
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_html_case", Path(__file__).with_name("test_html_chromium.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod._results()
    return res, replace


def test_public_plot_cif_and_forest_for_notebooks():
    import cohortstat as cs
    from cohortstat.errors import ReportError

    res, replace = _chromium_test_results()
    with pytest.raises(ReportError, match="outcome must be one of lung"):
        cs.plot_cif(res, "lung")  # no curve data in these results
    df = _sample(n=600).rename(columns={"time": "time_lung", "event": "event_lung"})
    o = replace(res.outcomes[0], curves=outcome_curves(df, "time_lung", "event_lung", ("sepsis", "trauma")))
    res = replace(res, outcomes=(o,))
    fig = cs.plot_cif(res, min_cell_count=10)
    assert len(fig.axes) == 2 and fig.axes[1].get_title(loc="left") == "Death (competing event)"
    counts = _count_texts(render(fig).svg)
    assert counts and all(not (v.isdigit() and 0 < int(v) < 10) for v in counts.values())
    fig = cs.forest(res)
    assert "Cox, adjusted" in _texts(render(fig).svg)
    with pytest.raises(ReportError, match="models: unknown cox_typo"):
        cs.forest(res, models=["cox_typo"])


def test_report_screenshots_are_committed_small_and_linked_from_the_readme():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    shots = sorted((root / "docs" / "screenshots").glob("*.png"))
    assert len(shots) >= 3 and all(s.stat().st_size < 300_000 for s in shots)
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert all(f"docs/screenshots/{s.name}" in readme for s in shots)
