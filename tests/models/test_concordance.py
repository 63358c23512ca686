"""concordance: hand-counted pairs, R survival::concordance references, a brute-force O(n^2) check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import DataCheckWarning, ModelInputError
from cohortstat.models import CoxPH
from cohortstat.models.concordance import concordance

REF = Path(__file__).resolve().parents[1] / "reference" / "concordance_lung"
EXP = json.loads((REF / "expected.json").read_text())
LUNG = pd.read_csv(REF / "input_lung.csv")
SIM = pd.read_csv(REF / "input_sim.csv")

# times 1, 2, 2, 3, 4 with events (1, 1, 0, 1, 0) and scores (1, 3, 2, 3, 5)
TINY = pd.DataFrame({"time": [1.0, 2, 2, 3, 4], "event": [1, 1, 0, 1, 0], "x": [1.0, 3, 2, 3, 5]})


def test_hand_counted():
    r = concordance(TINY, duration="time", event="event", score="x")
    # event at 1 (x=1) vs the 4 later rows: all larger x -> 4 concordant
    # event at 2 (x=3) vs censored at 2 (x=2): discordant; vs 3 (x=3): tied.x; vs 4 (x=5): concordant
    # event at 3 (x=3) vs 4 (x=5): concordant.  No two events share a time.
    assert r.counts.tolist() == [6.0, 1.0, 1.0, 0.0, 0.0]
    assert r.concordance == pytest.approx((6 + 0.5) / 8, abs=1e-15)
    rr = concordance(TINY, duration="time", event="event", score="x", reverse=True)
    assert rr.concordance == pytest.approx(1 - r.concordance, abs=1e-15)
    assert rr.counts["concordant"] == 1.0 and rr.se == pytest.approx(r.se, rel=1e-15)


def _brute(time, event, x, w, entry=None):
    """O(n^2) pair counts and the jackknife variance, written from the definitions."""
    n = time.size
    entry = np.full(n, -np.inf) if entry is None else entry
    cnt = np.zeros(5)
    infl = np.zeros((n, 3))
    for i in range(n):
        if not event[i]:
            continue
        for j in range(n):
            if j == i:
                continue
            if entry[j] >= time[i]:
                continue
            if time[j] > time[i] or (time[j] == time[i] and not event[j]):
                k = 0 if x[j] > x[i] else 1 if x[j] < x[i] else 2
                cnt[k] += w[i] * w[j]
                infl[i, k] += w[j]
                infl[j, k] += w[i]
            elif time[j] == time[i] and j > i:
                cnt[4 if x[j] == x[i] else 3] += w[i] * w[j]
    npair = cnt[:3].sum()
    somer = (cnt[0] - cnt[1]) / npair
    dfb = w * ((infl[:, 0] - infl[:, 1]) / npair - somer / npair * infl.sum(axis=1))
    return cnt, (somer + 1) / 2, np.sqrt(np.sum(dfb**2) / 4)


def test_against_brute_force():
    rng = np.random.default_rng(5)
    n = 150
    d = pd.DataFrame({"time": rng.integers(1, 15, n).astype(float), "event": rng.integers(0, 2, n),
                      "x": rng.integers(0, 6, n).astype(float), "w": rng.uniform(0.5, 2.0, n)})
    r = concordance(d, duration="time", event="event", score="x", weights="w")
    cnt, c, se = _brute(d["time"].to_numpy(), d["event"].to_numpy() > 0, d["x"].to_numpy(), d["w"].to_numpy())
    assert np.allclose(r.counts.to_numpy(), cnt, rtol=1e-12)
    assert r.concordance == pytest.approx(c, rel=1e-12)
    assert r.se == pytest.approx(se, rel=1e-10)


def test_entry_against_brute_force():
    rng = np.random.default_rng(6)
    n = 150
    t = rng.integers(1, 15, n).astype(float)
    d = pd.DataFrame({"time": t, "entry": np.floor(rng.uniform(0, 1, n) * t), "event": rng.integers(0, 2, n),
                      "x": rng.integers(0, 6, n).astype(float), "w": rng.uniform(0.5, 2.0, n)})
    r = concordance(d, duration="time", event="event", score="x", weights="w", entry="entry")
    cnt, c, se = _brute(d["time"].to_numpy(), d["event"].to_numpy() > 0, d["x"].to_numpy(), d["w"].to_numpy(),
                        d["entry"].to_numpy())
    assert np.allclose(r.counts.to_numpy(), cnt, rtol=1e-12)
    assert r.concordance == pytest.approx(c, rel=1e-12)
    assert r.se == pytest.approx(se, rel=1e-10)


def test_entry_hand_counted():
    # R: concordance(Surv(start, stop, ev) ~ x) on these 7 rows gives 6 concordant, 3 discordant
    d = pd.DataFrame({"start": [0.0, 0, 1, 2, 0, 3, 1], "stop": [2.0, 3, 4, 5, 5, 6, 2],
                      "ev": [1, 0, 1, 1, 0, 1, 0], "x": [1.0, 2, 3, 1, 2, 5, 0]})
    r = concordance(d, duration="stop", event="ev", score="x", entry="start")
    # event at 2 (x=1): at risk rows 2, 3, 5 (larger x) and row 7 censored at 2 (x=0); row 4 enters at 2
    # event at 4 (x=3): rows 4, 5 smaller, row 6 larger; event at 5 (x=1): rows 5, 6 larger
    assert r.counts.tolist() == [6.0, 3.0, 0.0, 0.0, 0.0]
    assert r.concordance == pytest.approx(2 / 3, abs=1e-15)
    assert r.var == pytest.approx(0.01920439, rel=1e-6)  # R's fit$var, printed to 7 digits


CASES = {
    "age": (LUNG, dict(score="age")),
    "karno": (LUNG, dict(score="ph.karno")),
    "age_reverse": (LUNG, dict(score="age", reverse=True)),
    "age_strata": (LUNG, dict(score="age", strata="sex")),
    "cox": (LUNG, dict(score="lp", reverse=True)),
    "sim": (SIM, dict(score="score")),
    "sim_reverse_strata": (SIM, dict(score="score", reverse=True, strata=["st"])),
    "sim_weights_cluster": (SIM, dict(score="score", weights="w", cluster="cl")),
    "sim_entry": (SIM, dict(score="score", reverse=True, strata="st", entry="entry")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_r_reference(case):
    data, kw = CASES[case]
    ref = EXP[case]
    if data[kw["score"]].isna().any():
        with pytest.warns(DataCheckWarning, match="concordance: dropped"):
            r = concordance(data, duration="time", event="event", **kw)
    else:
        r = concordance(data, duration="time", event="event", **kw)
    assert r.n == ref["n"]
    assert r.counts.to_dict() == pytest.approx(ref["count"], rel=1e-14)
    assert r.concordance == pytest.approx(ref["concordance"], rel=1e-12)
    assert r.se == pytest.approx(ref["std_err"], rel=1e-9)


def test_cox_result_equals_r_concordance_coxph():
    d = LUNG.dropna(subset=["ph.ecog"])
    fit = CoxPH().fit(d, duration="time", event="event", covariates=["age", "sex", "ph.ecog"])
    r = concordance(d, duration="time", event="event", result=fit)
    assert r.reverse
    assert r.concordance == pytest.approx(EXP["cox"]["concordance"], rel=1e-12)
    assert r.se == pytest.approx(EXP["cox"]["std_err"], rel=1e-9)


def test_array_score_and_table():
    a = concordance(SIM, duration="time", event="event", score=SIM["score"].to_numpy())
    b = concordance(SIM, duration="time", event="event", score="score")
    assert a.concordance == b.concordance and a.se == b.se
    t = b.table()
    assert list(t.columns) == ["concordance", "se", "concordant", "discordant", "tied.x", "tied.y", "tied.xy", "n"]
    with pytest.raises(ValueError):
        b.counts.iloc[0] = 0.0


def test_errors():
    with pytest.raises(ModelInputError, match="exactly one of score"):
        concordance(TINY, duration="time", event="event")
    with pytest.raises(ModelInputError, match="one number per row"):
        concordance(TINY, duration="time", event="event", score=[1.0, 2.0])
    with pytest.raises(ModelInputError, match="no comparable pairs"):
        concordance(TINY.assign(event=0), duration="time", event="event", score="x")
    with pytest.raises(ModelInputError, match="missing value"):
        concordance(TINY.assign(x=[1.0, np.nan, 2, 3, 4]), duration="time", event="event", score="x",
                    missing="raise")
