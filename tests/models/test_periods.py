"""split_periods equals R survSplit; period_hazard_ratios equals coxph with exposure:strata(tgroup)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.periods import _period_pieces, check_periods, period_hazard_ratios, split_periods

REF = Path(__file__).resolve().parents[1] / "reference" / "periods_survsplit"
EXP = json.loads((REF / "expected.json").read_text())
TINY = pd.read_csv(REF / "input_tiny.csv")
SIM = pd.read_csv(REF / "input_sim.csv")


def test_split_hand_solved():
    d = pd.DataFrame({"time": [3.0, 0.5], "status": [1, 1]})
    s = split_periods(d, "time", "status", [2, 1])
    # (0, 3] -> (0, 1], (1, 2], (2, 3] with the event on the last piece; (0, 0.5] is not cut
    assert s["tstart"].tolist() == [0, 1, 2, 0]
    assert s["time"].tolist() == [1, 2, 3, 0.5]
    assert s["status"].tolist() == [0, 0, 1, 1]
    assert s["episode"].tolist() == [1, 2, 3, 1]
    assert s.index.tolist() == [0, 0, 0, 1]
    assert list(s.columns) == ["tstart", "time", "status", "episode"]


@pytest.mark.parametrize("entry, fname, cuts", [("entry", "expected_split_entry.csv", [5, 1, 2]),
                                                (None, "expected_split_noentry.csv", [1, 2, 5])])
def test_split_equals_survsplit(entry, fname, cuts):
    exp = pd.read_csv(REF / fname)
    src = TINY if entry else TINY.drop(columns="entry")
    got = split_periods(src, "time", "status", cuts, entry=entry).reset_index(drop=True)
    for col in exp.columns:
        np.testing.assert_array_equal(got[col].to_numpy(float), exp[col].to_numpy(float), err_msg=col)
    assert len(got) == len(exp)


def test_split_preserves_total_time_and_events():
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"entry": rng.integers(0, 50, 300)})
    d["time"] = d["entry"] + rng.integers(1, 400, 300)
    d["status"] = rng.integers(0, 3, 300)
    s = split_periods(d, "time", "status", [30, 100, 100, 365], entry="entry")
    assert (s["time"] - s["entry"]).sum() == (d["time"] - d["entry"]).sum()
    assert s.groupby(level=0)["status"].sum().equals(d["status"])
    assert (s["time"] > s["entry"]).all() and s["time"].dtype == d["time"].dtype


def test_split_errors():
    with pytest.raises(ModelInputError, match="already exist"):
        split_periods(TINY.assign(episode=1), "time", "status", [1])
    with pytest.raises(ModelInputError, match="finite"):
        split_periods(TINY, "time", "status", [np.nan])
    with pytest.raises(ModelInputError, match="entry >= exit"):
        split_periods(TINY.assign(entry=TINY["time"]), "time", "status", [1], entry="entry")


def test_overlapping_periods_rejected():
    with pytest.raises(ModelInputError, match="overlap"):
        check_periods([[365, 730], [700, 1825]])
    with pytest.raises(ModelInputError, match="start < end"):
        check_periods([[730, 365]])
    assert check_periods([[0, 365], [365, np.inf]]) == [(0.0, 365.0), (365.0, np.inf)]


def test_period_hrs_equal_r():
    r = period_hazard_ratios(SIM, "time", "status", "x", EXP["periods"], covariates=["age"], entry="entry",
                             strata="sex")
    t = r.table
    np.testing.assert_allclose(t["coef"], EXP["coef"], rtol=1e-6)
    np.testing.assert_allclose(t["se"], EXP["se"], rtol=1e-6)
    assert r.by_period.loglik == pytest.approx(EXP["loglik_by_period"], rel=1e-9)
    assert r.common.loglik == pytest.approx(EXP["loglik_common"], rel=1e-9)
    assert r.by_period.coef["age"] == pytest.approx(EXP["coef_age"], rel=1e-6)
    assert r.common.coef["x"] == pytest.approx(EXP["common_coef_x"], rel=1e-6)
    assert r.heterogeneity_lr.stat == pytest.approx(EXP["lr_chisq"], rel=1e-6)
    assert r.heterogeneity_lr.df == EXP["lr_df"] and r.heterogeneity_lr.p == pytest.approx(EXP["lr_p"], rel=1e-6)
    assert r.heterogeneity_wald.stat == pytest.approx(EXP["wald_chisq"], rel=1e-6)
    assert r.heterogeneity_wald.p == pytest.approx(EXP["wald_p"], rel=1e-6)
    np.testing.assert_array_equal(t["events_exposed"], EXP["events_exposed"])
    np.testing.assert_array_equal(t["events_reference"], EXP["events_reference"])
    np.testing.assert_allclose(t["person_time_exposed"], EXP["person_time_exposed"])
    np.testing.assert_allclose(t["person_time_reference"], EXP["person_time_reference"])
    assert r.by_period.n == EXP["n_pieces"]
    assert t["period"].tolist() == ["(365, 730]", "(730, 1825]", "(1825, 3650]"]
    np.testing.assert_allclose(t["rate_exposed"], t["events_exposed"] / t["person_time_exposed"])
    assert any("outside every period" in n for n in r.notes)


def test_period_without_events_is_an_error():
    with pytest.raises(ModelInputError, match="no events"):
        period_hazard_ratios(SIM, "time", "status", "x", [[0, 365], [5000, 6000]], entry="entry")


def test_exposure_must_be_binary():
    with pytest.raises(ModelInputError, match="0 and 1"):
        period_hazard_ratios(SIM.assign(x=SIM["x"] * 2), "time", "status", "x", [[0, 365], [365, 730]])


def test_without_entry_equals_entry_zero():
    d = SIM[SIM["entry"] == 0].drop(columns="entry")
    a = period_hazard_ratios(d, "time", "status", "x", [[0, 365], [365, 1825], [1825, np.inf]], covariates=["age"])
    b = period_hazard_ratios(d.assign(e0=0), "time", "status", "x", [[0, 365], [365, 1825], [1825, np.inf]],
                             covariates=["age"], entry="e0")
    np.testing.assert_allclose(a.table["coef"], b.table["coef"], rtol=1e-12)
    assert a.heterogeneity_lr.stat == pytest.approx(b.heterogeneity_lr.stat, rel=1e-12)
    assert a.table["period"].tolist()[-1] == "(1825, inf]"
    # all follow-up is inside the periods: person-time adds up to the total
    total = a.table["person_time_exposed"].sum() + a.table["person_time_reference"].sum()
    assert total == pytest.approx(d["time"].sum())


@pytest.mark.parametrize("entry, duration", [("entry", "time"), (None, "time"), ("entry", "ftime")])
def test_period_pieces_are_split_periods_inside_the_periods(entry, duration):
    # the pieces the period models are fitted on: split_periods' rows inside the periods, same values and dtypes
    d = SIM.assign(ftime=SIM["time"] + 0.5, g=pd.Categorical(np.where(SIM["age"] > 60, "old", "young")))
    if entry is None:
        d = d[d["entry"] == 0].drop(columns="entry")
    ps = [(100.0, 365.0), (400.0, 1825.0), (1825.0, np.inf)]
    got, pid, ent, notes = _period_pieces(d, duration, "status", entry, ps, ["x", "age", "g"])
    src = d[[c for c in d.columns if c in {"x", "age", "g", duration, "status", entry}]]
    if entry is None:
        src = src.assign(__entry=0.0)
    exp = split_periods(src, duration, "status", [100, 365, 400, 1825], entry=ent, episode="__episode")
    start = exp[ent].to_numpy(float)
    exp_pid = np.select([(start >= a) & (start < b) for a, b in ps], [0, 1, 2], -1)  # (365, 400] is outside
    kept = exp[exp_pid >= 0].drop(columns="__episode").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, kept, check_exact=True)
    np.testing.assert_array_equal(pid, exp_pid[exp_pid >= 0])
    assert notes == [f"{int((exp_pid < 0).sum())} follow-up piece(s) outside every period not used"]
