"""FineGray(time_varying=...) against cmprsk::crr(cov2 =, tf =) (tests/reference/fg_timevarying)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models import FineGray

REF = Path(__file__).resolve().parents[1] / "reference" / "fg_timevarying"
EXP = json.loads((REF / "expected.json").read_text())


@pytest.mark.parametrize("k", range(len(EXP["cases"])))
def test_time_varying_terms_match_crr(k):
    c = EXP["cases"][k]
    py = c["python"]
    d = pd.read_csv(REF / "input.csv")
    res = FineGray(cause=c["cause"]).fit(d, "etime", "event", py["covariates"], time_varying=py["time_varying"],
                                         cengroup=py.get("cengroup"))
    tol = EXP["tolerance"]
    assert res.terms[:2] == ("age", "sex[M]") and len(res.time_varying) == len(py["time_varying"])
    np.testing.assert_allclose(res.coef, c["coef"], rtol=tol["estimate"])
    var_r = np.asarray(c["var"])
    np.testing.assert_allclose(res.var, var_r, rtol=0, atol=tol["variance"] * np.abs(var_r).max())
    np.testing.assert_allclose(np.sqrt(np.diag(res.var)), np.sqrt(np.diag(var_r)), rtol=tol["variance"])
    assert res.loglik == pytest.approx(c["loglik"], rel=tol["estimate"])
    assert res.loglik_null == pytest.approx(c["loglik_null"], rel=tol["estimate"])
    assert res.converged == c["converged"]


def test_constant_transform_equals_the_fixed_covariate():
    d = pd.read_csv(REF / "input.csv")
    fixed = FineGray().fit(d, "etime", "event", ["age", "mspike"])
    tv = FineGray().fit(d, "etime", "event", ["age"], time_varying={"mspike": lambda t: np.ones_like(t)})
    np.testing.assert_allclose(tv.coef.to_numpy(), fixed.coef.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(tv.var, fixed.var, rtol=1e-8)
    with pytest.raises(ModelInputError, match="not available"):
        tv.predict_cif({"age": 70.0, "mspike:<lambda>(t)": 1.0})
    with pytest.raises(ModelInputError, match="variance='crr'"):
        FineGray(variance="robust").fit(d, "etime", "event", ["age"], time_varying={"mspike": "log"})
