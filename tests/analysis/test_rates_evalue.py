"""Analysis-layer statistics: exact Poisson CIs, incidence rates, E-values, Table 1."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cohortstat.analysis import e_value, incidence_rate, poisson_exact_ci, smd, smd_proportions, table_one
from cohortstat.errors import ModelInputError


def test_garwood_limits_match_r_poisson_test():
    # R 4.x: poisson.test(10)$conf.int -> 4.795389 18.390356; poisson.test(0) -> 0 3.688879;
    # poisson.test(1) -> 0.02531781 5.57164339
    assert poisson_exact_ci(10) == pytest.approx((4.795389, 18.390356), abs=1e-6)
    assert poisson_exact_ci(0) == pytest.approx((0.0, 3.688879), abs=1e-6)
    assert poisson_exact_ci(1) == pytest.approx((0.02531781, 5.57164339), abs=1e-7)


def test_garwood_limits_are_the_gamma_quantiles():
    from scipy import stats

    for x in (1, 7, 250):
        lo, hi = poisson_exact_ci(x)
        # the Poisson tail probabilities at the limits are alpha/2 (definition of the exact interval)
        assert stats.poisson.sf(x - 1, lo) == pytest.approx(0.025, rel=1e-8)
        assert stats.poisson.cdf(x, hi) == pytest.approx(0.025, rel=1e-8)


def test_incidence_rate_per_1000_person_years():
    r = incidence_rate(10, 2000.0)
    assert r["rate"] == pytest.approx(5.0)
    assert r["rate_lower"] == pytest.approx(4.795389 / 2, abs=1e-6)
    assert r["rate_upper"] == pytest.approx(18.390356 / 2, abs=1e-6)
    assert math.isnan(incidence_rate(0, 0.0)["rate"])


def test_negative_count_is_refused():
    with pytest.raises(ModelInputError, match="number of events"):
        poisson_exact_ci(-1)


def test_e_value_published_example():
    # VanderWeele & Ding 2017: RR 3.9 (1.8 to 8.7) -> E-values 7.26 and 3.0
    ev = e_value(3.9, 1.8, 8.7, rare=True)
    assert ev["e_value"] == pytest.approx(7.26, abs=0.005)
    assert ev["e_value_ci"] == pytest.approx(3.0, abs=0.005)


def test_e_value_protective_common_and_null():
    rare = e_value(0.5, 0.4, 0.7, rare=True)
    assert rare["e_value"] == pytest.approx(2 + math.sqrt(2))  # 1/RR = 2
    assert rare["e_value_ci"] == pytest.approx(1 / 0.7 + math.sqrt(1 / 0.7 * (1 / 0.7 - 1)))
    # common outcome: HR 0.5 -> RR (1 - 0.5^sqrt(.5)) / (1 - 0.5^sqrt(2)) ~ 0.620, closer to 1 than the HR
    common = e_value(0.5, 0.4, 0.7, rare=False)
    assert 1 < common["e_value"] < rare["e_value"]
    assert e_value(1.2, 0.9, 1.6, rare=True)["e_value_ci"] == 1.0


def test_smd_formulas():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1, 2, 500), rng.normal(0, 2, 400)
    expected = (a.mean() - b.mean()) / math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    assert smd(a, b) == pytest.approx(expected, rel=1e-14)
    assert smd_proportions(0.5, 0.3, 10, 10) == pytest.approx(0.2 / math.sqrt((0.25 + 0.21) / 2), rel=1e-14)


def _analysis_table(n=400, seed=3):
    rng = np.random.default_rng(seed)
    exp = rng.integers(0, 2, n)
    return pd.DataFrame({
        "group": np.where(exp == 1, "sepsis", "trauma"),
        "exposure": exp,
        "age": rng.integers(18, 95, n),
        "sex": rng.integers(1, 3, n),
        "calendar_year": rng.integers(2010, 2017, n),
        "charlson": rng.poisson(1.5 + exp, n),
        "cci_diabetes": rng.integers(0, 2, n),
        "tobacco": rng.integers(0, 2, n),
    })


def test_table_one_counts_and_smd():
    t = _analysis_table()
    t1 = table_one(t, exposed="sepsis", reference="trauma", flags=["tobacco"])
    n_s, n_t = (t["group"] == "sepsis").sum(), (t["group"] == "trauma").sum()
    assert t1.iloc[0][["n_sepsis", "n_trauma"]].tolist() == [n_s, n_t]
    for var in ("Sex", "Calendar year of index", "Charlson category", "Charlson: diabetes", "Flag: tobacco"):
        rows = t1.loc[t1["variable"] == var]
        assert rows["n_sepsis"].sum() == n_s and rows["n_trauma"].sum() == n_t, var
        assert rows["pct_sepsis"].sum() == pytest.approx(100)
    sex = t1.loc[t1["variable"] == "Sex"].set_index("level")
    assert sex.loc["female", "n_sepsis"] == ((t["group"] == "sepsis") & (t["sex"] == 2)).sum()
    p1 = ((t["group"] == "sepsis") & (t["sex"] == 1)).sum() / n_s
    p0 = ((t["group"] == "trauma") & (t["sex"] == 1)).sum() / n_t
    assert sex.loc["male", "smd"] == pytest.approx((p1 - p0) / math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2))
    age = t1.loc[t1["variable"] == "Age, years"].iloc[0]
    assert age["mean_sepsis"] == pytest.approx(t.loc[t["group"] == "sepsis", "age"].mean())
    # Charlson was planted higher in the exposed group
    assert t1.loc[t1["variable"] == "Charlson score", "smd"].iloc[0] > 0.3
