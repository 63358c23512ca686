"""CoxPH._fit_same_rows (the seam the subgroup and period models use) equals separate fits to the last bit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ConvergenceWarning, ModelInputError
from cohortstat.models.cox import CoxPH


def _data(n=600, seed=5):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"x": rng.integers(0, 2, n), "z": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n),
                      "site": rng.integers(0, 3, n), "w": rng.uniform(0.5, 2.0, n), "entry": rng.integers(0, 50, n)})
    d["time"] = d["entry"] + rng.integers(1, 400, n)
    d["status"] = rng.choice([0, 1, 2], n, p=[0.5, 0.4, 0.1])
    d["xg"] = d["x"] * (d["g"] == "a")
    d["pair"] = np.arange(n) // 2
    return d


def _same(a, b):
    assert a.terms == b.terms and a.notes == b.notes and a.infinite == b.infinite
    for x, y in [(a.coef, b.coef), (a.se, b.se)]:
        assert x.to_numpy().tobytes() == y.to_numpy().tobytes()
    assert a.var.tobytes() == b.var.tobytes() and (a.loglik, a.loglik_null, a.n) == (b.loglik, b.loglik_null, b.n)
    assert (a.robust_var is None) == (b.robust_var is None)
    if a.robust_var is not None:
        assert a.robust_var.tobytes() == b.robust_var.tobytes()
    pd.testing.assert_frame_equal(a.table(), b.table(), check_exact=True)


@pytest.mark.parametrize("options", [{}, {"strata": "site", "entry": "entry"}, {"weights": "w", "cluster": "pair"},
                                     {"robust": True}])
def test_equals_separate_fits(options):
    d = _data()
    sets = [["x", "z", "g"], ["xg", "z", "g"], ["x", "xg", "z"]]
    model = CoxPH(ties="efron")
    together = model._fit_same_rows(d, "time", "status", sets, **options)
    for covariates, got in zip(sets, together):
        _same(got, model.fit(d, "time", "status", covariates, **options))


def test_rows_that_differ_are_not_shared():
    d = _data()
    d.loc[d.index[:7], "z"] = np.nan  # the second set drops 7 rows with a note, the first keeps them
    sets = [["x", "g"], ["x", "z"], ["x", "g"]]
    together = CoxPH()._fit_same_rows(d, "time", "status", sets)
    assert together[1].n == len(d) - 7 and together[2].n == len(d)
    for covariates, got in zip(sets, together):
        _same(got, CoxPH().fit(d, "time", "status", covariates))


def test_warnings_and_errors_as_separate_fits():
    d = _data()
    d["status"] = np.where(d["xg"] == 1, 0, d["status"])  # xg has no events: its coefficient runs to infinity
    with pytest.warns(ConvergenceWarning, match="xg"):
        common, by = CoxPH()._fit_same_rows(d, "time", "status", [["x", "z"], ["xg", "z"]])
    assert by.infinite == ("xg",) and not common.infinite
    with pytest.raises(ModelInputError, match="constant"):
        CoxPH()._fit_same_rows(d.assign(k=1.0), "time", "status", [["x"], ["x", "k"]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModelInputError, match="not found"):
            CoxPH()._fit_same_rows(d, "time", "status", [["x"], ["nope"]])
