"""kaplan_meier, aalen_johansen, gray_test: hand-solved values and R references (cuminc, survfit)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.nonparametric import aalen_johansen, gray_test, kaplan_meier

REF = Path(__file__).resolve().parents[1] / "reference" / "cuminc_mgus2"
EXP = json.loads((REF / "expected.json").read_text())
D = pd.read_csv(REF / "input.csv")
S = pd.read_csv(REF / "input_sim.csv")

# times 1..5 with events (1, 0, 2, 1, 0)
TINY = pd.DataFrame({"time": [1.0, 2, 3, 4, 5], "event": [1, 0, 2, 1, 0]})


def test_km_hand_solved():
    km = kaplan_meier(TINY, duration="time", event="event")
    # S: 4/5 at 1, unchanged at 2, 4/5*2/3 = 8/15 at 3, 8/15*1/2 = 4/15 at 4
    assert np.allclose(km["estimate"], [4 / 5, 4 / 5, 8 / 15, 4 / 15, 4 / 15], atol=1e-15)
    assert km["n_risk"].tolist() == [5, 4, 3, 2, 1]
    gw = 1 / (5 * 4) + 1 / (3 * 2) + 1 / (2 * 1)
    assert km["se"].iloc[3] == pytest.approx(4 / 15 * np.sqrt(gw), abs=1e-15)


def test_aj_hand_solved():
    aj = aalen_johansen(TINY, duration="time", event="event", cause=1)
    # F1 jumps S(t-) d/n: 1/5 at 1; at 4, S(4-) = 8/15, n = 2: + 4/15
    assert aj["time"].tolist() == [1.0, 4.0]
    assert np.allclose(aj["estimate"], [1 / 5, 1 / 5 + 4 / 15], atol=1e-15)
    aj2 = aalen_johansen(TINY, duration="time", event="event", cause=2)
    assert np.allclose(aj2["estimate"], [4 / 5 * 1 / 3], atol=1e-15)


def _close(a, b, tol):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)) < tol


@pytest.mark.parametrize("key", ["F 1", "M 1", "F 2", "M 2"])
def test_cuminc_reference(key):
    sex, cause = key.split()
    ref = EXP["cuminc"][key]
    aj = aalen_johansen(D, duration="etime", event="event", cause=int(cause), group="sex")
    aj = aj[aj["group"] == sex]
    assert _close(aj["time"], ref["time"], 1e-12)
    assert _close(aj["estimate"], ref["est"], 1e-6)
    assert _close(aj["se"] ** 2, ref["var"], 1e-5)


@pytest.mark.parametrize("key", ["a 1", "b 1", "c 1", "a 2"])
def test_cuminc_reference_ties(key):
    grp, cause = key.split()
    ref = EXP["cuminc_sim"][key]
    aj = aalen_johansen(S, duration="time", event="event", cause=int(cause), group="grp")
    aj = aj[aj["group"] == grp]
    assert _close(aj["estimate"], ref["est"], 1e-6)
    assert _close(aj["se"] ** 2, ref["var"], 1e-5)


@pytest.mark.parametrize("name,data,kw", [
    ("tests", D, dict(duration="etime", group="sex")),
    ("tests_strata", D, dict(duration="etime", group="sex", strata="ageband")),
    ("tests_sim", S, dict(duration="time", group="grp")),
    ("tests_sim_strata_rho1", S, dict(duration="time", group="grp", strata="st", rho=1.0)),
])
@pytest.mark.parametrize("cause", [1, 2])
def test_gray_reference(name, data, kw, cause):
    ref = EXP[name]
    res = gray_test(data, event="event", cause=cause, **kw)
    assert res["stat"] == pytest.approx(ref["stat"][cause - 1], rel=1e-6)
    assert res["df"] == ref["df"][cause - 1]
    assert res["p"] == pytest.approx(ref["p"][cause - 1], rel=1e-6)


def test_km_reference_survfit():
    ref = EXP["km"]
    km = kaplan_meier(D, duration="etime", event="event", group="sex")
    assert _close(km["time"], ref["time"], 1e-12)
    assert _close(km["n_risk"], ref["n_risk"], 1e-12)
    assert _close(km["n_event"], ref["n_event"], 1e-12)
    assert _close(km["estimate"], ref["surv"], 1e-6)
    # summary.survfit's std.err is on the survival scale (0 where S = 1)
    r_se = pd.to_numeric(pd.Series(ref["std_err"]), errors="coerce").to_numpy(float)
    both = np.isfinite(r_se)
    assert np.array_equal(both, np.isfinite(km["se"].to_numpy()))
    assert np.max(np.abs(km["se"].to_numpy()[both] - r_se[both])) < 1e-8
    assert list(km["group"].unique()) == ["F", "M"]


def test_km_weighted_reference():
    ref = EXP["km_weighted"]
    km = kaplan_meier(S.assign(w=1 + S["st"] / 4), duration="time", event="event", weights="w")
    assert _close(km["n_risk"], ref["n_risk"], 1e-12)
    assert _close(km["estimate"], ref["surv"], 1e-6)
    r_se = pd.to_numeric(pd.Series(ref["std_err_log"]), errors="coerce").to_numpy(float)
    ok = np.isfinite(r_se)
    assert _close((km["se"] / km["estimate"]).to_numpy()[ok], r_se[ok], 1e-5)


def test_errors():
    with pytest.raises(ModelInputError, match="at least two groups"):
        gray_test(TINY.assign(g="a"), duration="time", event="event", group="g")
    with pytest.raises(ModelInputError, match="not found"):
        aalen_johansen(TINY, duration="time", event="status")
