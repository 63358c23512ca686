"""FineGray(variance='robust', strata=...) against R finegray(... + strata()) + coxph(... + strata())."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models import FineGray

REF = Path(__file__).resolve().parents[1] / "reference" / "fg_strata"
EXP = json.loads((REF / "expected.json").read_text())


@pytest.mark.parametrize("k", range(len(EXP["cases"])))
def test_stratified_finegray_matches_r(k):
    c = EXP["cases"][k]
    d = pd.read_csv(REF / "input.csv")
    strata = c["strata"] if isinstance(c["strata"], str) else list(c["strata"])
    res = FineGray(cause=c["cause"], variance="robust").fit(
        d, "etime", "event", ["age", "mspike"], strata=strata, weights="w" if c["weighted"] else None)
    tol = EXP["tolerance"]
    np.testing.assert_allclose(res.coef, c["coef"], rtol=tol["estimate"])
    np.testing.assert_allclose(res.se, c["se"], rtol=tol["variance"])
    np.testing.assert_allclose(res.robust_se, c["robust_se"], rtol=tol["variance"])
    assert res.loglik == pytest.approx(c["loglik"], rel=tol["estimate"])
    assert res.loglik_null == pytest.approx(c["loglik_null"], rel=tol["estimate"])
    assert set(res.baseline["stratum"]) and res.strata is not None


def test_stratified_formula_and_predict_cif():
    d = pd.read_csv(REF / "input.csv")
    a = FineGray.from_formula("Crr(etime, event, cause=1) ~ age + mspike + strata(sex)", d)
    b = FineGray(variance="robust").fit(d, "etime", "event", ["age", "mspike"], strata="sex")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    prof = {"age": 70.0, "mspike": 1.0}
    f, m = b.predict_cif(prof, stratum="F"), b.predict_cif(prof, stratum="M")
    assert (np.diff(f["cif"]) >= 0).all() and (np.diff(m["cif"]) >= 0).all()
    with pytest.raises(ModelInputError, match="give stratum="):
        b.predict_cif(prof)
    with pytest.raises(ModelInputError, match="needs FineGray\\(variance='robust'\\)"):
        FineGray().fit(d, "etime", "event", ["age"], strata="sex")
