"""IPTW for the ATE and the ATT, symmetric weight truncation at percentiles, trimming bounds."""

from __future__ import annotations

import numpy as np
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.weighting import iptw_weights, truncate_weights, within_bounds

PS = np.array([0.2, 0.5, 0.8, 0.1, 0.4, 0.6, 0.9, 0.3])
T = np.array([1, 1, 1, 0, 0, 0, 0, 0])


def test_att_weights_by_hand():
    # exposed 1; reference p / (1 - p); stabilized divides the reference weights by the odds q / (1 - q)
    q = 3 / 8
    unstab = iptw_weights(PS, T, stabilized=False, estimand="att")
    assert unstab == pytest.approx([1, 1, 1, 1 / 9, 2 / 3, 1.5, 9, 3 / 7], rel=1e-14)
    stab = iptw_weights(PS, T, stabilized=True, estimand="att")
    assert stab == pytest.approx(np.where(T == 1, 1.0, unstab * (1 - q) / q), rel=1e-14)


def test_ate_weights_are_unchanged_by_the_new_argument():
    q = 3 / 8
    expected = np.where(T == 1, q / PS, (1 - q) / (1 - PS))
    assert iptw_weights(PS, T) == pytest.approx(expected, rel=1e-14)
    assert iptw_weights(PS, T, True, "ate") == pytest.approx(expected, rel=1e-14)


def test_att_weighting_reproduces_the_exposed_covariate_mean():
    rng = np.random.default_rng(3)
    x = rng.normal(size=200_000)
    ps = 1 / (1 + np.exp(-(-0.5 + x)))
    t = (rng.random(x.size) < ps).astype(int)
    w = iptw_weights(ps, t, estimand="att")
    ref = t == 0
    weighted_ref_mean = np.sum(w[ref] * x[ref]) / np.sum(w[ref])
    assert weighted_ref_mean == pytest.approx(x[t == 1].mean(), abs=0.02)
    assert np.sum(w[ref]) == pytest.approx(ref.sum(), rel=0.05)  # stabilized: about the group's size


def test_truncation_is_symmetric_at_type7_quantiles():
    w = np.arange(1.0, 101.0)
    t = np.r_[np.ones(50, int), np.zeros(50, int)]
    res = truncate_weights(w, t, 0.9)
    lo, hi = np.quantile(w, [0.1, 0.9])
    assert (res.lower, res.upper) == pytest.approx((10.9, 90.1))  # R quantile(1:100, c(.1, .9))
    assert res.weights == pytest.approx(np.clip(w, lo, hi))
    assert (res.n_lower, res.n_upper) == (10, 10)


def test_att_truncation_uses_and_moves_only_reference_weights():
    w = np.r_[np.ones(5), np.linspace(0.01, 10, 20)]
    t = np.r_[np.ones(5, int), np.zeros(20, int)]
    res = truncate_weights(w, t, 0.95, estimand="att")
    lo, hi = np.quantile(w[5:], [0.05, 0.95])
    assert res.weights[:5] == pytest.approx(np.ones(5))
    assert res.weights[5:] == pytest.approx(np.clip(w[5:], lo, hi))


@pytest.mark.parametrize("p", [0.5, 1.0, 0.2])
def test_truncation_percentile_outside_range_raises(p):
    with pytest.raises(ModelInputError, match=r"percentile must lie in \(0.5, 1\)"):
        truncate_weights(np.ones(4), np.array([1, 0, 1, 0]), p)


def test_within_bounds_is_inclusive_and_checks_the_bounds():
    assert within_bounds(np.array([0.05, 0.5, 0.95, 0.96, 0.01]), (0.05, 0.95)).tolist() == [True, True, True, False,
                                                                                           False]
    with pytest.raises(ModelInputError, match="0 < a < b < 1"):
        within_bounds(PS, (0.6, 0.4))


def test_unknown_estimand_raises():
    with pytest.raises(ModelInputError, match="estimand must be 'ate' or 'att'"):
        iptw_weights(PS, T, estimand="atc")
