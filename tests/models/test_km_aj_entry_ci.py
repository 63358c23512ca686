"""kaplan_meier / aalen_johansen: delayed entry, confidence limits, survfit's multi-state variance,
and the missing-data policy. Hand-solved values first, then R survfit references."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import DataCheckWarning, ModelInputError
from cohortstat.models.nonparametric import aalen_johansen, gray_test, kaplan_meier

REF = Path(__file__).resolve().parents[1] / "reference"
KM = json.loads((REF / "km_entry_ci" / "expected.json").read_text())
AJ = json.loads((REF / "aj_mstate" / "expected.json").read_text())
LUNG = pd.read_csv(REF / "km_entry_ci" / "input_lung.csv")
KM_E = pd.read_csv(REF / "km_entry_ci" / "input_entry.csv")
MGUS = pd.read_csv(REF / "aj_mstate" / "input_mgus2.csv")
AJ_E = pd.read_csv(REF / "aj_mstate" / "input_entry.csv")

# (entry, exit] with events 1 = cause 1, 2 = cause 2, 0 = censored
TINY = pd.DataFrame({"entry": [0.0, 0, 1, 2, 0, 3], "time": [2.0, 3, 4, 5, 5, 6], "event": [1, 0, 2, 1, 0, 2]})


def _num(x):
    return pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(float)


def _same(a, b, tol):
    """Equal to a relative tolerance, NaN exactly where the reference is NA."""
    a, b = np.asarray(a, float), _num(b)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(b)
    assert np.all(np.abs(a[ok] - b[ok]) <= tol * np.maximum(np.abs(b[ok]), 1e-12))


def test_km_entry_hand_solved():
    km = kaplan_meier(TINY, duration="time", event="event", entry="entry")
    # risk sets {entry < t <= time}: 4 at t=2, 4 at 3 (one left, one entered at 2), 4 at 4, 3 at 5, 1 at 6
    assert km["time"].tolist() == [2, 3, 4, 5, 6]
    assert km["n_risk"].tolist() == [4, 4, 4, 3, 1]
    assert np.allclose(km["estimate"], [3 / 4, 3 / 4, 9 / 16, 3 / 8, 0.0], rtol=0, atol=1e-15)
    # log-scale Greenwood at 2: sqrt(1/(4*3)); 95% log interval exp(log(3/4) -+ z sqrt(1/12)), upper capped at 1
    z = 1.959963984540054
    assert km["se"].iloc[0] == pytest.approx(3 / 4 * np.sqrt(1 / 12), abs=1e-15)
    assert km["ci_lower"].iloc[0] == pytest.approx(3 / 4 * np.exp(-z * np.sqrt(1 / 12)), rel=1e-14)
    assert km["ci_upper"].iloc[0] == 1.0
    assert np.isnan(km["ci_lower"].iloc[-1]) and np.isnan(km["se"].iloc[-1])  # S = 0: NA in R


def test_aj_entry_hand_solved():
    aj = aalen_johansen(TINY, duration="time", event="event", cause=1, entry="entry")
    # F1 = 1/4 at 2; at 5: + S(5-) * 1/3 = 9/16 / 3 -> 7/16
    assert aj["time"].tolist() == [2.0, 5.0]
    assert np.allclose(aj["estimate"], [1 / 4, 7 / 16], rtol=0, atol=1e-15)
    # jackknife at 2: the failing subject moves F by (1/4)(3/4), the 3 others at risk by -1/16 each
    assert aj["se"].iloc[0] == pytest.approx(np.sqrt((3 / 16) ** 2 + 3 / 16**2), rel=1e-14)
    aj2 = aalen_johansen(TINY, duration="time", event="event", cause=2, entry="entry")
    assert np.allclose(aj2["estimate"], [3 / 16, 9 / 16], rtol=0, atol=1e-15)


def test_entry_zero_equals_no_entry():
    d = TINY.assign(entry=-1.0)
    a = kaplan_meier(d, duration="time", event="event", entry="entry")
    b = kaplan_meier(d, duration="time", event="event")
    pd.testing.assert_frame_equal(a, b)
    a = aalen_johansen(d, duration="time", event="event", entry="entry")
    b = aalen_johansen(d, duration="time", event="event", variance="survfit")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("ct", ["log", "log-log", "plain"])
def test_km_ci_reference_lung(ct):
    ref = KM[f"lung_{ct}"]
    km = kaplan_meier(LUNG, duration="time", event="event", group="sex", conf_type=ct)
    _same(km["time"], ref["time"], 1e-14)
    _same(km["estimate"], ref["surv"], 1e-10)
    _same(km["se"], ref["std_err"], 1e-8)
    _same(km["ci_lower"], ref["lower"], 1e-8)
    _same(km["ci_upper"], ref["upper"], 1e-8)


@pytest.mark.parametrize("ct", ["log", "log-log", "plain"])
def test_km_entry_reference(ct):
    ref = KM[f"entry_{ct}"]
    km = kaplan_meier(KM_E, duration="time", event="event", group="grp", entry="entry", conf_type=ct,
                      conf_level=0.9)
    assert km["group"].tolist() == [s.split("=")[1] for s in ref["strata"]]
    _same(km["time"], ref["time"], 1e-14)
    _same(km["n_risk"], ref["n_risk"], 1e-14)
    _same(km["n_event"], ref["n_event"], 1e-14)
    _same(km["estimate"], ref["surv"], 1e-10)
    _same(km["se"], ref["std_err"], 1e-8)
    _same(km["ci_lower"], ref["lower"], 1e-8)
    _same(km["ci_upper"], ref["upper"], 1e-8)


def _aj_check(aj, ref, cause):
    """Compare at the times where the cause occurs (R lists every time; we list the corners)."""
    r = pd.DataFrame({k: _num(ref[k]) if k != "strata" else ref[k] for k in ref if k != "r_call"})
    for lev, part in aj.groupby("group", sort=False):
        rr = r[r["strata"] == lev].set_index("time").loc[part["time"].to_numpy()]
        _same(part["n_risk"], rr["n_risk"], 1e-14)
        _same(part["estimate"], rr[f"F{cause}"], 1e-10)
        _same(part["se"], rr[f"se{cause}"], 1e-8)
        _same(part["ci_lower"], rr[f"lower{cause}"], 1e-8)
        _same(part["ci_upper"], rr[f"upper{cause}"], 1e-8)
        jumps = r[(r["strata"] == lev)]
        f = jumps[f"F{cause}"].to_numpy()
        assert np.array_equal(part["time"].to_numpy(), jumps["time"].to_numpy()[np.diff(f, prepend=0) > 0])


@pytest.mark.parametrize("ct", ["log", "log-log", "plain"])
@pytest.mark.parametrize("cause", [1, 2])
def test_aj_survfit_reference_mgus2(ct, cause):
    aj = aalen_johansen(MGUS, duration="etime", event="event", cause=cause, group="sex", variance="survfit",
                        conf_type=ct)
    _aj_check(aj, AJ[f"mgus2_{ct}"], cause)


@pytest.mark.parametrize("ct", ["log", "log-log", "plain"])
@pytest.mark.parametrize("cause", [1, 2])
def test_aj_entry_reference(ct, cause):
    aj = aalen_johansen(AJ_E, duration="time", event="event", cause=cause, group="grp", entry="entry",
                        conf_type=ct, conf_level=0.9)
    _aj_check(aj, AJ[f"entry_{ct}"], cause)


def test_aj_cuminc_default_has_ci():
    aj = aalen_johansen(MGUS, duration="etime", event="event", cause=1)
    assert list(aj.columns) == ["time", "n_risk", "n_event", "estimate", "se", "ci_lower", "ci_upper"]
    assert np.all(aj["ci_lower"] <= aj["estimate"]) and np.all(aj["estimate"] <= aj["ci_upper"])


def test_missing_drop_warns_with_count():
    d = TINY.assign(g=["a", "a", None, "b", "b", "b"])
    d.loc[0, "time"] = np.nan
    for fn, kw in [(kaplan_meier, {}), (aalen_johansen, {}), (gray_test, {"group": "g"})]:
        with pytest.warns(DataCheckWarning, match=r"dropped 2 of 6 rows with a missing value in \['time', 'g'\]"):
            fn(d, duration="time", event="event", **({"group": "g"} | kw))
        with pytest.raises(ModelInputError, match="2 of 6 rows have a missing value"):
            fn(d, duration="time", event="event", missing="raise", **({"group": "g"} | kw))


def test_missing_none_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kaplan_meier(TINY, duration="time", event="event")
        aalen_johansen(TINY, duration="time", event="event")


def test_input_errors():
    with pytest.raises(ModelInputError, match="strictly earlier"):
        kaplan_meier(TINY.assign(entry=2.0), duration="time", event="event", entry="entry")
    with pytest.raises(ModelInputError, match="conf_type"):
        kaplan_meier(TINY, duration="time", event="event", conf_type="logit")
    with pytest.raises(ModelInputError, match="missing must be one of"):
        kaplan_meier(TINY, duration="time", event="event", missing="omit")
    with pytest.raises(ModelInputError, match="no delayed entry"):
        aalen_johansen(TINY, duration="time", event="event", entry="entry", variance="cuminc")
    with pytest.raises(ModelInputError, match="not found"):
        kaplan_meier(TINY, duration="time", event="event", entry="start")
