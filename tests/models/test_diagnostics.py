"""Diagnostics: MDRR, preference score / equipoise, follow-up quantiles (R reference), CIF-sum check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.diagnostics import (
    check_cif_sum,
    equipoise,
    follow_up_distribution,
    mdrr_table,
    minimum_detectable_rr,
    preference_score,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "diagnostics_cohortmethod"
EXP = json.loads((REF / "expected.json").read_text())
DATA = pd.read_csv(REF / "input.csv")


def test_mdrr_hand_worked():
    # 100 events, half exposed, 5 % two-sided, 80 % power: exp(sqrt((1.95996 + 0.84162)^2 / 25)) = 1.7512
    assert minimum_detectable_rr(100, 0.5) == pytest.approx(1.7512, abs=1e-4)
    assert minimum_detectable_rr(0, 0.5) == np.inf
    # four times the events halve the log MDRR
    assert np.log(minimum_detectable_rr(400, 0.3)) == pytest.approx(np.log(minimum_detectable_rr(100, 0.3)) / 2)


@pytest.mark.parametrize("case", EXP["mdrr"])
def test_mdrr_equals_r(case):
    got = minimum_detectable_rr(int(case["events"]), case["exposed_share"], alpha=case["alpha"], power=case["power"],
                                two_sided=case["two_sided"])
    assert got == pytest.approx(case["mdrr"], rel=1e-12)


def test_preference_and_equipoise_equal_r():
    p = float(DATA["treatment"].mean())
    pref = preference_score(DATA["ps"], p)
    np.testing.assert_allclose(pref[:10], EXP["preference_first10"], rtol=1e-12)
    assert equipoise(DATA["ps"], DATA["treatment"]) == pytest.approx(EXP["equipoise"], abs=1e-15)


def test_preference_properties():
    # PS equal to the exposed share -> preference 0.5; PS 0 and 1 -> 0 and (almost) 1
    pref = preference_score([0.2, 0.0, 1.0], 0.2)
    assert pref[0] == pytest.approx(0.5) and pref[1] == 0.0 and pref[2] > 0.999
    assert equipoise([0.5, 0.5, 0.9, 0.1], [1, 0, 1, 0]) == 0.5
    with pytest.raises(ModelInputError, match="probabilities"):
        equipoise([0.5, np.nan], [1, 0])
    with pytest.raises(ModelInputError, match="bounds"):
        equipoise([0.5, 0.4], [1, 0], bounds=(0.7, 0.3))


def test_follow_up_distribution_equals_r_quantile():
    fu = follow_up_distribution(DATA, "time", "treatment").set_index("group")
    cols = ["q0", "q25", "q50", "q75", "q100"]
    np.testing.assert_allclose(fu.loc[1, cols].to_numpy(float), EXP["follow_up"]["treated"], rtol=1e-12)
    np.testing.assert_allclose(fu.loc[0, cols].to_numpy(float), EXP["follow_up"]["comparator"], rtol=1e-12)
    assert fu["n"].sum() == len(DATA)


def test_mdrr_table():
    d = pd.DataFrame({"x": [1] * 50 + [0] * 150, "lung": [1] * 20 + [0] * 180, "skin": [2] * 200})
    t = mdrr_table(d, "x", {"lung": "lung", "skin": "skin"})
    assert t["events"].tolist() == [20, 0]
    assert t.loc[0, "mdrr"] == pytest.approx(minimum_detectable_rr(20, 0.25))
    assert t.loc[0, "se"] == pytest.approx(1 / np.sqrt(20 * 0.25 * 0.75))
    assert t.loc[1, "mdrr"] == np.inf


def test_cif_sum_check():
    a = np.array([[0.1, 0.5], [0.2, 0.6]])
    b = np.array([[0.2, 0.4], [0.3, 0.5]])
    r = check_cif_sum({"cancer": a, "death": b})
    assert r.exceeds and r.n_exceeding == 1 and r.first == (1, 1)
    assert r.max_sum == pytest.approx(1.1) and r.share_exceeding == 0.25
    ok = check_cif_sum([a * 0.5, b * 0.5])
    assert not ok.exceeds and ok.first is None
    with pytest.raises(ModelInputError, match="same shape"):
        check_cif_sum([a, b[:1]])
    with pytest.raises(ModelInputError, match="at least two"):
        check_cif_sum([a])


def test_cif_on_grid_step_function():
    from cohortstat.models.diagnostics import cif_on_grid

    got = cif_on_grid([1.0, 2.0, 4.0], [0.1, 0.3, 0.6], [0.5, 1.0, 3.9, 4.0, 10.0])
    np.testing.assert_array_equal(got, [0.0, 0.1, 0.3, 0.6, 0.6])


def test_fine_gray_cifs_of_two_causes_can_exceed_one():
    # both cause-specific hazards rise steeply with z: the two (misspecified) Fine-Gray models predict
    # CIFs whose sum exceeds 1 for a high-z profile (Austin, Steyerberg & Putter 2021), never the truth
    from cohortstat.models import FineGray
    from cohortstat.models.diagnostics import cif_on_grid

    rng = np.random.default_rng(5)
    n = 1500
    z = rng.normal(size=n)
    t1, t2 = rng.exponential(1 / (0.1 * np.exp(1.5 * z))), rng.exponential(1 / (0.1 * np.exp(1.5 * z)))
    c = rng.uniform(0, 30, n)
    t = np.minimum(np.minimum(t1, t2), c)
    d = pd.DataFrame({"t": np.round(t, 4), "e": np.where(t == c, 0, np.where(t1 < t2, 1, 2)), "z": z})
    grid = np.linspace(0, 30, 61)
    preds = {}
    for cause in (1, 2):
        p = FineGray(cause=cause).fit(d, "t", "e", ["z"]).predict_cif({"z": 3.0})
        preds[cause] = cif_on_grid(p["time"], p["cif"], grid)
    r = check_cif_sum(preds)
    assert r.exceeds and r.max_sum > 1.2 and r.first is not None
    assert preds[1][r.first[0]] + preds[2][r.first[0]] > 1.0
    low = {k: cif_on_grid(p["time"], p["cif"], grid) for k, p in
           ((c_, FineGray(cause=c_).fit(d, "t", "e", ["z"]).predict_cif({"z": -2.0})) for c_ in (1, 2))}
    assert not check_cif_sum(low).exceeds
