"""Fixed- and random-effects meta-analysis against R metafor (tests/reference/meta_rma/).

run.R pools several sets of per-site log hazard ratios with ``rma(method="REML", test="knha")``,
``rma(method="REML")`` and ``rma(method="FE")``; CI has no R, only expected.json is read.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.meta import meta_fixed, meta_random

CASE = Path(__file__).resolve().parents[1] / "reference" / "meta_rma"
EXP = json.loads((CASE / "expected.json").read_text())
SETS = sorted(EXP["sets"])
FIELDS = ["estimate", "se", "ci_lower", "ci_upper", "stat", "p", "df", "tau2", "se_tau2", "I2", "H2", "Q", "Q_p"]


def _close(got, want, name):
    rel, ab = EXP["tolerance"]["relative"], EXP["tolerance"]["absolute"]
    if want is None:  # R wrote NA / Inf / NULL
        assert got is None or not math.isfinite(got), name
        return
    assert got is not None and math.isclose(got, want, rel_tol=rel, abs_tol=ab), f"{name}: {got} != R {want}"


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("fit", ["reml_knha", "reml_z", "fe"])
def test_equals_metafor(name, fit):
    s = EXP["sets"][name]
    if fit == "fe":
        res = meta_fixed(s["yi"], s["sei"])
    else:
        res = meta_random(s["yi"], s["sei"], test="knha" if fit == "reml_knha" else "z")
    want = s[fit]
    for f in FIELDS:
        if fit == "fe" and f == "se_tau2":
            continue  # metafor reports none for FE; cohortstat NaN
        _close(getattr(res, f), want[f], f"{name}/{fit}/{f}")


def test_input_csv_matches_json():
    rows = (CASE / "input.csv").read_text().strip().splitlines()[1:]
    assert len(rows) == sum(len(EXP["sets"][n]["yi"]) for n in SETS)


def test_fixed_is_inverse_variance_mean_of_exact_fractions():
    # weights 1/0.25 = 4 and 1/1 = 1: (4*1 + 1*2)/5 = 1.2, var 1/5
    res = meta_fixed([1.0, 2.0], [0.5, 1.0])
    assert res.estimate == pytest.approx(1.2, rel=1e-15)
    assert res.se == pytest.approx(math.sqrt(0.2), rel=1e-15)
    assert res.Q == pytest.approx(4 * 0.2 ** 2 + 0.8 ** 2, rel=1e-14)
    assert sum(res.weights) == pytest.approx(1.0)


def test_random_reduces_to_fixed_when_tau2_is_zero():
    y, se = [0.2, 0.21, 0.19], [0.1, 0.1, 0.1]
    fe, re = meta_fixed(y, se), meta_random(y, se, test="z")
    assert re.tau2 == 0.0
    assert re.estimate == pytest.approx(fe.estimate, rel=1e-14) and re.se == pytest.approx(fe.se, rel=1e-14)


def test_random_weights_flatten_with_heterogeneity():
    rng = np.random.default_rng(5)
    se = rng.uniform(0.05, 0.3, 8)
    y = rng.normal(0.0, 1.0, 8)
    fe, re = meta_fixed(y, se), meta_random(y, se)
    assert re.tau2 > 0.3
    assert np.ptp(re.weights) < np.ptp(fe.weights)
    assert re.ci_upper - re.ci_lower > fe.ci_upper - fe.ci_lower


@pytest.mark.parametrize("y,se", [([0.1], [0.1]), ([0.1, 0.2], [0.1, 0.0]), ([0.1, np.nan], [0.1, 0.1]),
                                  ([0.1, 0.2], [0.1])])
def test_bad_input_raises(y, se):
    with pytest.raises(ModelInputError):
        meta_random(y, se)
