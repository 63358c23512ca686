"""SIRs against reference rates and the study diagnostics, wired into ``analyze``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat import analyze
from cohortstat.analysis.fit_cache import reuse_fits, stats
from cohortstat.constants import DAYS_PER_YEAR
from cohortstat.models.diagnostics import minimum_detectable_rr, preference_score
from cohortstat.spec import load_study

from .helpers import shipped_core, simulated_cohort

OUTCOMES = ("lung", "skin")


def _study(rates: list[tuple], confounding=None, per=100000):
    data = shipped_core()
    data["outcomes"] = {k: v for k, v in data["outcomes"].items() if k in OUTCOMES}
    if confounding:
        data["analyses"]["confounding"] = confounding
    data["reference_rates"] = {"file": "unused.csv", "per": per, "rates": [
        {"outcome": o, "age_lower": lo, "age_upper": hi, "sex": sx, "rate": r} for o, lo, hi, sx, r in rates]}
    return load_study(data)


def _flat(rate):
    return [(o, 18, None, sx, rate) for o in OUTCOMES for sx in (1, 2)]


@pytest.fixture(scope="module")
def cohort():
    return simulated_cohort(n=2000, seed=11, outcomes=OUTCOMES)


def test_sir_with_a_constant_rate_is_observed_over_rate_times_person_years(cohort):
    res = analyze(_study(_flat(150.0)), cohort)
    t = cohort.table
    for o in OUTCOMES:
        for g in ("sepsis", "trauma"):
            row = res.sir.query("outcome == @o and group == @g").iloc[0]
            sub = t.loc[(t["group"] == g) & t[f"time_{o}"].notna()]
            py = sub[f"time_{o}"].sum() / DAYS_PER_YEAR
            observed = int((sub[f"event_{o}"] == 1).sum())
            assert row["observed_events"] == observed
            assert row["expected"] == pytest.approx(150.0 / 100000 * py, rel=1e-12)
            assert row["sir"] == pytest.approx(observed / (150.0 / 100000 * py), rel=1e-12)
            assert row["ci_lower"] < row["sir"] < row["ci_upper"]
            rates = [r for o_ in res.outcomes if o_.name == o for r in o_.rates.to_dict("records") if r["group"] == g]
            assert rates[0]["events"] == observed  # the same count as the incidence table


def test_sir_rows_in_the_estimates_table(cohort):
    res = analyze(_study(_flat(150.0)), cohort)
    est = res.estimates().query("estimate_type == 'sir'")
    assert len(est) == 2 * len(OUTCOMES)
    assert set(est["model"]) == {"sir"} and set(est["adjustment"]) == {"standardized"}
    exposed = est.query("term == 'sepsis'")
    assert exposed["events_reference"].isna().all() and exposed["events_exposed"].notna().all()
    merged = est.merge(res.sir, left_on=["outcome", "term"], right_on=["outcome", "group"])
    np.testing.assert_array_equal(merged["estimate"], merged["sir"])


def test_age_bands_weight_the_expected_count(cohort):
    # a rate only from age 60: expected = rate x person-years lived from 60 on
    rates = [(o, lo, hi, sx, r) for o in OUTCOMES for sx in (1, 2) for lo, hi, r in ((18, 60, 0.0), (60, None, 500.0))]
    res = analyze(_study(rates), cohort)
    t = cohort.table
    sub = t.loc[(t["group"] == "trauma") & t["time_lung"].notna()]
    age, years = sub["age"].to_numpy(float), sub["time_lung"].to_numpy(float) / DAYS_PER_YEAR
    py_over_60 = np.clip(age + years - np.maximum(age, 60), 0, None).sum()
    row = res.sir.query("outcome == 'lung' and group == 'trauma'").iloc[0]
    assert row["expected"] == pytest.approx(500.0 / 100000 * py_over_60, rel=1e-9)


def test_no_reference_rates_no_sir(cohort):
    data = shipped_core()
    data["outcomes"] = {k: v for k, v in data["outcomes"].items() if k in OUTCOMES}
    res = analyze(load_study(data), cohort)
    assert res.sir is None and not (res.estimates()["estimate_type"] == "sir").any()


def test_diagnostics_mdrr_follow_up_cif_sum(cohort):
    res = analyze(_study(_flat(150.0)), cohort)
    diag, t = res.diagnostics, cohort.table
    assert diag.equipoise is None  # no propensity score
    for o in OUTCOMES:
        sub = t.loc[t[f"time_{o}"].notna()]
        d = int((sub[f"event_{o}"] == 1).sum())
        row = diag.mdrr.query("outcome == @o").iloc[0]
        assert row["mdrr"] == pytest.approx(minimum_detectable_rr(d, float(sub["exposure"].mean())), rel=1e-12)
        for g in ("sepsis", "trauma"):
            f = diag.follow_up.query("outcome == @o and group == @g").iloc[0]
            v = sub.loc[sub["group"] == g, f"time_{o}"]
            assert f["median_days"] == v.median()
            assert (f["q25_days"], f["q75_days"]) == tuple(v.quantile([0.25, 0.75]))
            assert f["person_years"] == pytest.approx(v.sum() / DAYS_PER_YEAR, rel=1e-12)
        cif = diag.cif_sum.query("outcome == @o").iloc[0]
        assert cif["model"] == "fg_adjusted" and cif["max_sum"] > 0
        flagged = any(n.startswith(f"{o}: the predicted Fine-Gray") for n in res.notes)
        assert flagged == bool(cif["exceeds"]) == (cif["max_sum"] > 1 + 1e-8)
    assert set(diag.follow_up.columns) == {"outcome", "group", "median_days", "q25_days", "q75_days", "person_years"}


def test_equipoise_with_a_propensity_score(cohort):
    res = analyze(_study(_flat(150.0), confounding={"method": "iptw"}), cohort)
    from cohortstat.analysis.confounding import adjust_for_confounding

    table = cohort.table.assign(female=(cohort.table["sex"] == 2).astype(int))
    ps = adjust_for_confounding(table, res.study).propensity
    pref = preference_score(ps.ps, ps.treated_fraction)
    assert res.diagnostics.equipoise == pytest.approx(float(np.mean((pref >= 0.3) & (pref <= 0.7))), rel=1e-12)
    assert res.diagnostics.equipoise_counts[1] == len(table)


def test_cif_sum_reuses_the_study_fine_gray_fit(cohort):
    study = _study(_flat(150.0))
    with reuse_fits():
        analyze(study, cohort)
        first = stats()
        again = analyze(study, cohort)
        second = stats()
    assert second["misses"] == first["misses"]  # everything reused the second time
    assert first["hits"] >= len(OUTCOMES)  # the CIF-sum check reuses each outcome's Fine-Gray fit
    fresh = analyze(study, cohort)
    pd.testing.assert_frame_equal(fresh.estimates(), again.estimates(), check_exact=True)
    assert fresh.notes == again.notes


def test_written_report_suppresses_small_observed_counts_and_their_sir(cohort, tmp_path):
    import csv
    import json

    from cohortstat.report.writer import write_report

    res = analyze(_study(_flat(150.0)), cohort)
    observed = sorted(int(v) for v in res.sir["observed_events"])
    k = max(10, observed[len(observed) // 2])  # some counts below it, some not
    out = write_report(res, tmp_path / "out", min_cell_count=k)
    sir = list(csv.DictReader((out / "tables" / "sir.csv").open()))
    assert len(sir) == len(res.sir)
    for row, (_, truth) in zip(sir, res.sir.iterrows()):
        small = 0 < int(truth["observed_events"]) < k
        assert (row["observed_events"] == f"<{k}") == small
        assert (row["sir"] == "") == small or row["observed_events"] == "*"
    est = [r for r in csv.DictReader((out / "tables" / "estimates.csv").open()) if r["estimate_type"] == "sir"]
    assert all(r["estimate"] == "" for r in est if f"<{k}" in (r["events_exposed"], r["events_reference"]))
    data = json.loads((out / "results.json").read_text())
    assert [r["outcome"] for r in data["diagnostics"]["mdrr"]] == list(OUTCOMES)
    diag = list(csv.DictReader((out / "tables" / "diagnostics.csv").open()))
    assert {r["diagnostic"] for r in diag} >= {"mdrr", "follow_up", "cif_sum"}
    html = (out / "report.html").read_text()
    assert 'id="sir"' in html and 'id="study-diagnostics"' in html
