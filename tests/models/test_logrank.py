"""logrank_test: hand-solved G-rho statistics (exact fractions), then R survdiff / coxph references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import DataCheckWarning, ModelInputError
from cohortstat.models._results import TestResult
from cohortstat.models.logrank import LogrankResult, logrank_test

REF = Path(__file__).resolve().parents[1] / "reference" / "logrank_survdiff"
EXP = json.loads((REF / "expected.json").read_text())
DATA = {name: pd.read_csv(REF / f"input_{name}.csv") for name in ("lung", "veteran", "sim", "entry")}

# group a: events at 1 and 3; group b: event at 2, censored at 4
TINY = pd.DataFrame({"time": [1.0, 3, 2, 4], "event": [1, 1, 1, 0], "g": ["a", "a", "b", "b"],
                     "entry": [0.0, 0, 0, 2.5]})


def test_logrank_hand_solved():
    r = logrank_test(TINY, duration="time", event="event", group="g")
    # E_a = 2/4 + 1/3 + 1/2 = 4/3; V = 3/12 (2 - 1) + 2/6 (1 - 1/3) + 1/2 (1 - 1/2) = 13/18
    assert r.observed.tolist() == [2.0, 1.0]
    assert r.expected[0] == pytest.approx(4 / 3, abs=1e-15)
    assert r.var[0, 0] == pytest.approx(13 / 18, abs=1e-15)
    assert r.var[0, 1] == pytest.approx(-13 / 18, abs=1e-15)
    assert r.stat == pytest.approx(8 / 13, abs=1e-15)
    assert r.df == 1 and isinstance(r, TestResult)


def test_peto_peto_hand_solved():
    r = logrank_test(TINY, duration="time", event="event", group="g", rho=1)
    # weights S(t-) = 1, 3/4, 1/2: O_a = 3/2, E_a = 1/2 + 1/4 + 1/4 = 1, V = 1/4 + 1/8 + 1/16 = 7/16
    assert r.observed[0] == pytest.approx(3 / 2, abs=1e-15)
    assert r.expected[0] == pytest.approx(1.0, abs=1e-15)
    assert r.var[0, 0] == pytest.approx(7 / 16, abs=1e-15)
    assert r.stat == pytest.approx(4 / 7, abs=1e-15)


def test_entry_hand_solved():
    r = logrank_test(TINY, duration="time", event="event", group="g", entry="entry")
    # the censored b row enters at 2.5: at risk (2, 1), (1, 1), (1, 1); E_a = 2/3 + 1/2 + 1/2, V = 2/9 + 1/4 + 1/4
    assert r.expected[0] == pytest.approx(5 / 3, abs=1e-15)
    assert r.var[0, 0] == pytest.approx(13 / 18, abs=1e-15)
    assert r.stat == pytest.approx(2 / 13, abs=1e-15)


CASES = {
    "lung_sex": ("lung", dict(duration="time", event="event", group="sex")),
    "lung_sex_rho1": ("lung", dict(duration="time", event="event", group="sex", rho=1)),
    "lung_ecog": ("lung", dict(duration="time", event="event", group="ph.ecog")),
    "veteran_strata": ("veteran", dict(duration="time", event="status", group="celltype", strata="prior",
                                       rho=0.5)),
    "sim_strata": ("sim", dict(duration="time", event="event", group="grp", strata="st")),
    "sim_rho1": ("sim", dict(duration="time", event="event", group="grp", rho=1)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_survdiff_reference(case):
    name, kw = CASES[case]
    ref = EXP[case]
    if DATA[name][kw["group"]].isna().any():
        with pytest.warns(DataCheckWarning, match="dropped 1 of 228 rows"):
            r = logrank_test(DATA[name], **kw)
    else:
        r = logrank_test(DATA[name], **kw)
    assert [str(g).removesuffix(".0") for g in r.groups] == ref["groups"]
    assert r.n.tolist() == ref["n"]
    assert np.allclose(r.observed, ref["observed"], rtol=1e-12, atol=0)
    assert np.allclose(r.expected, ref["expected"], rtol=1e-12, atol=0)
    assert np.allclose(r.var, np.array(ref["var"]), rtol=1e-10, atol=1e-12)
    assert r.stat == pytest.approx(ref["chisq"], rel=1e-10)
    assert r.df == ref["df"]
    assert r.p == pytest.approx(ref["p"], rel=1e-8)


def test_entry_equals_cox_score_test():
    ref = EXP["entry_score"]
    r = logrank_test(DATA["entry"], duration="stop", event="event", group="grp", entry="entry")
    assert r.stat == pytest.approx(ref["chisq"], rel=1e-10)
    assert r.df == ref["df"]


def test_result_is_read_only_and_tabulates():
    r = logrank_test(DATA["sim"], duration="time", event="event", group="grp", strata=["st"])
    assert isinstance(r, LogrankResult) and r.n_strata == 3
    with pytest.raises(ValueError):
        r.observed[0] = 0.0
    t = r.table()
    assert list(t.columns) == ["group", "n", "observed", "expected", "(O-E)^2/E", "(O-E)^2/V"]
    assert t["observed"].sum() == pytest.approx(t["expected"].sum(), rel=1e-12)  # sum O - E = 0
    assert r.test == TestResult(r.stat, r.df, r.p)


def test_stratified_with_one_stratum_equals_unstratified():
    d = DATA["sim"].assign(one="s")
    a = logrank_test(d, duration="time", event="event", group="grp", strata="one")
    b = logrank_test(d, duration="time", event="event", group="grp")
    assert a.stat == b.stat and np.array_equal(a.var, b.var)


def test_cause_specific():
    d = TINY.assign(event=[1, 2, 1, 0])  # the a event at 3 is another cause: censored for cause 1
    r = logrank_test(d, duration="time", event="event", group="g", cause=1)
    assert r.observed.tolist() == [1.0, 1.0]


def test_errors():
    with pytest.raises(ModelInputError, match="at least two groups"):
        logrank_test(TINY.assign(g="a"), duration="time", event="event", group="g")
    with pytest.raises(ModelInputError, match="not found"):
        logrank_test(TINY, duration="time", event="event", group="arm")
