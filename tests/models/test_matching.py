"""Matching: hand-checked cases, invariance to row order, caliper, exact strata, ratio, no replacement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohortstat.errors import ModelInputError
from cohortstat.models.matching import canonical_rank, match

# three treated (a, b, c) and five controls (d..h); scores written out so pairs can be found by hand
HAND = pd.DataFrame(
    {
        "person_key": list("abcdefgh"),
        "t": [1, 1, 1, 0, 0, 0, 0, 0],
        "s": [0.0, 1.0, 2.0, 0.1, 0.95, 1.1, 2.5, 5.0],
    }
)


def sets_by_key(df, res, key="person_key"):
    return dict(zip(df[key], res.matched_set))


def pairs(df, res, key="person_key"):
    """Matched sets as {treated key: frozenset(control keys)}."""
    out = {}
    ms = res.matched_set
    t = df["t"].to_numpy() if "t" in df else res.treatment
    keys = df[key].to_numpy()
    for s in np.unique(ms[ms >= 0]):
        members = np.flatnonzero(ms == s)
        tr = [keys[i] for i in members if t[i] == 1]
        assert len(tr) == 1
        out[tr[0]] = frozenset(keys[i] for i in members if t[i] == 0)
    return out


def test_hand_case_no_caliper():
    # closest pair first: b-e (0.05), a-d (0.1), c-g (0.5, nearer than f at 0.9)
    res = match(HAND, treatment="t", score="s", caliper_sd=None)
    assert pairs(HAND, res) == {"c": {"g"}, "b": {"e"}, "a": {"d"}}
    # visiting order (largest score first): c=2.0 takes g=2.5 (0.5 < 0.9 to f=1.1); b=1.0 takes e=0.95
    # (0.05 < 0.1 to f); a=0.0 takes d=0.1; set ids follow the visiting order
    res = match(HAND, treatment="t", score="s", caliper_sd=None, order="largest")
    assert pairs(HAND, res) == {"c": {"g"}, "b": {"e"}, "a": {"d"}}
    assert sets_by_key(HAND, res) == {"a": 2, "b": 1, "c": 0, "d": 2, "e": 1, "f": -1, "g": 0, "h": -1}
    assert res.counts()["n_matched"].tolist() == [3, 3]
    assert res.counts()["n_unmatched"].tolist() == [0, 2]
    assert res.weights.tolist() == [1, 1, 1, 1, 1, 0, 1, 0]


def test_hand_case_caliper():
    sd = np.std(HAND["s"], ddof=1)
    # caliper 0.3 on the score scale: c's nearest available control (g, 0.5 away) is outside, so c is
    # unmatched (greedy does not fall back to a farther control); b-e (0.05) and a-d (0.1) remain
    res = match(HAND, treatment="t", score="s", caliper_sd=0.3 / sd)
    assert res.caliper == pytest.approx(0.3)
    assert pairs(HAND, res) == {"b": {"e"}, "a": {"d"}}
    assert res.n_matched_treated == 2 and res.n_matched_control == 2
    # just above 0.1, a-d (0.1 apart) is in; at 0.09 it is out
    assert pairs(HAND, match(HAND, treatment="t", score="s", caliper_sd=0.1000001 / sd)) == {
        "b": {"e"},
        "a": {"d"},
    }
    assert pairs(HAND, match(HAND, treatment="t", score="s", caliper_sd=0.09 / sd)) == {"b": {"e"}}


def test_hand_case_ratio_two():
    # closest first, round 2: proposals b-f 0.1, c-f 0.9, a-f 1.1; b takes f; c renews to h (3.0), a
    # renews to h (5.0); c takes h; a gets no second control
    res = match(HAND, treatment="t", score="s", caliper_sd=None, ratio=2)
    assert pairs(HAND, res) == {"c": {"g", "h"}, "b": {"e", "f"}, "a": {"d"}}
    # largest first, round 2: c takes f (0.9 < 3.0 to h), b takes h (the only one left), a gets none
    res = match(HAND, treatment="t", score="s", caliper_sd=None, ratio=2, order="largest")
    assert pairs(HAND, res) == {"c": {"g", "f"}, "b": {"e", "h"}, "a": {"d"}}
    sizes = res.set_sizes()
    assert sizes.to_dict("list") == {"n_controls": [1, 2], "n_sets": [1, 2]}
    w = dict(zip(HAND["person_key"], res.weights))
    # control weights 1/m rescaled to sum to the 5 matched controls: raw 1, .5, .5, .5, .5 -> x 5/3
    assert w["d"] == pytest.approx(5 / 3) and w["g"] == pytest.approx(5 / 6)
    assert w["a"] == 1.0


def test_hand_case_closest_differs_from_largest():
    # treated y=2.0, x=1.0; controls p=1.1, q=5.0; caliper 1.0
    df = pd.DataFrame({"person_key": list("yxpq"), "t": [1, 1, 0, 0], "s": [2.0, 1.0, 1.1, 5.0]})
    cal = 1.0 / np.std(df["s"], ddof=1)
    # largest first: y takes p (0.9 < 3.0), then x's nearest available is q (4.0 > caliper): unmatched
    assert pairs(df, match(df, treatment="t", score="s", caliper_sd=cal, order="largest")) == {"y": {"p"}}
    # closest pair first: x-p (0.1) before y-p (0.9); y then has only q (3.0 > caliper)
    assert pairs(df, match(df, treatment="t", score="s", caliper_sd=cal)) == {"x": {"p"}}
    # without caliper, closest: x-p then y-q
    assert pairs(df, match(df, treatment="t", score="s", caliper_sd=None)) == {"x": {"p"}, "y": {"q"}}


def test_hand_case_order_smallest():
    # a first: d; b: e; c: g
    res = match(HAND, treatment="t", score="s", caliper_sd=None, order="smallest")
    assert pairs(HAND, res) == {"a": {"d"}, "b": {"e"}, "c": {"g"}}


def test_equidistant_takes_lower_control():
    df = pd.DataFrame({"person_key": [1, 2, 3], "t": [1, 0, 0], "s": [1.0, 0.5, 1.5]})
    res = match(df, treatment="t", score="s", caliper_sd=None)
    assert pairs(df, res) == {1: {2}}


def random_frame(n, seed, p_treated=0.3, ties=False):
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    s = rng.normal(size=n) + (age - 50) / 30
    if ties:
        s = np.round(s, 1)
    return pd.DataFrame(
        {
            "person_key": [f"P{i:07d}" for i in rng.permutation(n)],
            "t": (rng.random(n) < p_treated).astype(int),
            "s": s,
            "sex": rng.integers(1, 3, n),
            "age_band": age // 10,
        }
    )


@pytest.mark.parametrize("order", ["closest", "largest", "random"])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("ratio", [1, 3])
def test_invariant_to_row_order(ties, ratio, order):
    df = random_frame(3000, 1, ties=ties)
    res = match(df, treatment="t", score="s", exact=("sex",), ratio=ratio, seed=7, order=order)
    rng = np.random.default_rng(2)
    for _ in range(3):
        shuffled = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
        res2 = match(shuffled, treatment="t", score="s", exact=("sex",), ratio=ratio, seed=7, order=order)
        # identical set ids per person, hence identical pairs
        assert sets_by_key(shuffled, res2) == sets_by_key(df, res)


def test_deterministic_given_seed_and_seed_matters_for_ties():
    df = random_frame(2000, 3)
    a = match(df, treatment="t", score=None, exact=("sex", "age_band"), seed=11)
    b = match(df, treatment="t", score=None, exact=("sex", "age_band"), seed=11)
    c = match(df, treatment="t", score=None, exact=("sex", "age_band"), seed=12)
    assert np.array_equal(a.matched_set, b.matched_set)
    # exact-only matching draws controls in the seeded order: another seed, other pairs (same counts)
    assert pairs(df, a) != pairs(df, c)
    assert a.n_matched_control == c.n_matched_control


@pytest.mark.parametrize("order", ["closest", "largest"])
@pytest.mark.parametrize("ratio", [1, 2, 4])
def test_caliper_exact_ratio_and_no_replacement(ratio, order):
    df = random_frame(4000, 4, p_treated=0.25)
    res = match(
        df, treatment="t", score="s", exact=("sex", "age_band"), ratio=ratio, caliper_sd=0.05, order=order
    )
    ms, s, t = res.matched_set, df["s"].to_numpy(), df["t"].to_numpy()
    assert res.caliper == pytest.approx(0.05 * np.std(s, ddof=1))
    assert res.n_matched_treated < res.n_treated  # the narrow caliper leaves some unmatched
    for sid in np.unique(ms[ms >= 0]):
        members = np.flatnonzero(ms == sid)
        tr = members[t[members] == 1]
        co = members[t[members] == 0]
        assert tr.size == 1 and 1 <= co.size <= ratio
        assert np.all(np.abs(s[co] - s[tr[0]]) <= res.caliper + 1e-12)
        assert df["sex"].iloc[members].nunique() == 1 and df["age_band"].iloc[members].nunique() == 1
    # a control is in at most one set by construction (one id per row); counts add up
    assert (ms[t == 0] >= 0).sum() == res.n_matched_control
    assert (ms[t == 1] >= 0).sum() == res.n_matched_treated == res.n_sets


def naive_greedy(df, caliper, exact):
    """Sequential greedy reference (Python loop): treated by descending score, nearest available control
    of the same stratum within the caliper. Scores continuous (no ties)."""
    t = df["t"].to_numpy()
    s = df["s"].to_numpy()
    strat = df[list(exact)].astype(str).agg("|".join, axis=1).to_numpy()
    avail = set(np.flatnonzero(t == 0))
    out = {}
    for i in sorted(np.flatnonzero(t == 1), key=lambda i: -s[i]):
        cand = [j for j in avail if strat[j] == strat[i]]
        if not cand:
            continue
        j = min(cand, key=lambda j: abs(s[j] - s[i]))
        if abs(s[j] - s[i]) <= caliper:
            out[i] = j
            avail.remove(j)
    return out


def naive_closest(df, caliper, exact):
    """Closest-pair-first reference (Python loops over a full distance matrix): repeatedly match the
    closest (treated, control) pair of the same stratum within the caliper. Scores continuous."""
    t = df["t"].to_numpy()
    s = df["s"].to_numpy()
    strat = df[list(exact)].astype(str).agg("|".join, axis=1).to_numpy()
    ti, ci = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    dist = np.abs(s[ti][:, None] - s[ci][None, :])
    dist[strat[ti][:, None] != strat[ci][None, :]] = np.inf
    dist[dist > caliper] = np.inf
    out = {}
    while np.isfinite(dist).any():
        a, b = np.unravel_index(np.argmin(dist), dist.shape)
        out[ti[a]] = ci[b]
        dist[a, :] = np.inf
        dist[:, b] = np.inf
    return out


def pairs_by_position(df, res):
    ms, t = res.matched_set, df["t"].to_numpy()
    return {
        i: int(np.flatnonzero((ms == ms[i]) & (t == 0))[0]) for i in np.flatnonzero((t == 1) & (ms >= 0))
    }


def test_equals_sequential_greedy():
    df = random_frame(600, 5)
    res = match(df, treatment="t", score="s", exact=("sex",), caliper_sd=0.1, order="largest")
    assert pairs_by_position(df, res) == naive_greedy(df, res.caliper, ("sex",))


def test_equals_closest_pair_first():
    df = random_frame(600, 8)
    res = match(df, treatment="t", score="s", exact=("sex",), caliper_sd=0.1)
    assert pairs_by_position(df, res) == naive_closest(df, res.caliper, ("sex",))


def test_exact_only_matches_within_strata():
    df = random_frame(1000, 6)
    res = match(df, treatment="t", exact=("sex", "age_band"), ratio=2)
    assert res.caliper is None
    ms = res.matched_set
    for sid in np.unique(ms[ms >= 0]):
        members = np.flatnonzero(ms == sid)
        assert df["age_band"].iloc[members].nunique() == 1 and df["sex"].iloc[members].nunique() == 1
    # in each stratum, min(n_treated, n_control // 2...) treated get a control
    for _, g in df.assign(ms=ms).groupby(["sex", "age_band"]):
        assert (g["ms"][g["t"] == 1] >= 0).sum() == min((g["t"] == 1).sum(), (g["t"] == 0).sum())


def test_canonical_rank_independent_of_order_and_seeded():
    keys = np.array([f"k{i}" for i in range(100)])
    r = canonical_rank(keys, 3)
    perm = np.random.default_rng(0).permutation(100)
    assert np.array_equal(canonical_rank(keys[perm], 3), r[perm])
    assert sorted(r) == list(range(100))
    assert not np.array_equal(canonical_rank(keys, 4), r)
    ints = np.arange(50)
    assert np.array_equal(canonical_rank(ints[::-1], 0), canonical_rank(ints, 0)[::-1])


def test_bad_inputs():
    with pytest.raises(ModelInputError, match="duplicate"):
        match(HAND.assign(person_key="x"), treatment="t", score="s")
    with pytest.raises(ModelInputError, match="key column 'id'"):
        match(HAND, treatment="t", score="s", key="id")
    with pytest.raises(ModelInputError, match="ratio must be an integer >= 1"):
        match(HAND, treatment="t", score="s", ratio=0)
    with pytest.raises(ModelInputError, match="coded 0"):
        match(HAND.assign(t=2), treatment="t", score="s")
    with pytest.raises(ModelInputError, match="missing or infinite"):
        match(HAND.assign(s=np.inf), treatment="t", score="s")
    with pytest.raises(ModelInputError, match="exact-matching column 'sex'"):
        match(HAND, treatment="t", score="s", exact=("sex",))
    with pytest.raises(ModelInputError, match="order must be"):
        match(HAND, treatment="t", score="s", order="best")
    with pytest.raises(ModelInputError, match="caliper_sd"):
        match(HAND, treatment="t", score="s", caliper_sd=-1)


def test_no_controls_in_stratum():
    df = pd.DataFrame({"person_key": [1, 2, 3], "t": [1, 1, 0], "g": [0, 1, 1], "s": [0.0, 0.0, 0.0]})
    res = match(df, treatment="t", score="s", exact=("g",))
    assert res.matched_set.tolist() == [-1, 0, 0]



@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 40),
    ratio=st.integers(1, 3),
    order=st.sampled_from(["closest", "largest", "smallest", "random"]),
    caliper=st.sampled_from([None, 0.3, 1.0]),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_properties_random_small_cases(n, ratio, order, caliper, seed, data):
    t = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    s = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))  # few values: many ties
    g = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    df = pd.DataFrame(
        {"person_key": [f"k{i}" for i in range(n)], "t": t, "s": np.array(s, float) / 2, "g": g}
    )
    if df["s"].std() == 0 and caliper is not None:
        caliper = None
    kw = dict(treatment="t", score="s", exact=("g",), ratio=ratio, caliper_sd=caliper, seed=seed, order=order)
    res = match(df, **kw)
    ms, tt, ss, gg = res.matched_set, df["t"].to_numpy(), df["s"].to_numpy(), df["g"].to_numpy()
    cal = np.inf if res.caliper is None else res.caliper
    n_controls = {}
    for sid in np.unique(ms[ms >= 0]):
        members = np.flatnonzero(ms == sid)
        tr, co = members[tt[members] == 1], members[tt[members] == 0]
        assert tr.size == 1 and 1 <= co.size <= ratio
        assert (gg[members] == gg[tr[0]]).all()
        assert (np.abs(ss[co] - ss[tr[0]]) <= cal + 1e-12).all()
        n_controls[tr[0]] = co.size
    # greedy leaves no usable control: a treated row short of k controls has no unmatched control of
    # its stratum within the caliper (availability only shrinks while matching)
    free = np.flatnonzero((tt == 0) & (ms < 0))
    for i in np.flatnonzero(tt == 1):
        if n_controls.get(i, 0) < ratio:
            near = free[(gg[free] == gg[i]) & (np.abs(ss[free] - ss[i]) <= cal)]
            assert near.size == 0
    # the same persons, in another order, get the same sets
    perm = np.random.default_rng(seed).permutation(n)
    assert np.array_equal(match(df.iloc[perm], **kw).matched_set, ms[perm])


def test_match_summary_text():
    rng = np.random.default_rng(12)
    df = pd.DataFrame({"t": np.r_[np.ones(20, int), np.zeros(60, int)], "s": rng.random(80)})
    res = match(df, treatment="t", score="s", ratio=2, key=None)
    text = res.summary()
    assert "Matching 1:2" in text and f"{res.n_sets} matched sets" in text
