"""Federated site-stratified Fine-Gray against R: finegray() within each site + coxph(strata(site), weights).

tests/reference/sites_fg_strata/run.R simulates three sites with continuous times (no ties, where
finegray's censoring weights equal crr's), and writes input.csv and expected.json (CI reads the JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohortstat.sites.federated import FineGraySite, federated_finegray, summed

CASE = Path(__file__).resolve().parents[1] / "reference" / "sites_fg_strata"


def test_federated_finegray_equals_r_finegray_coxph_stratified_by_site():
    exp = json.loads((CASE / "expected.json").read_text())
    df = pd.read_csv(CASE / "input.csv")
    py = exp["python"]
    terms = ["exposure", "age", "region[north]", "region[west]"]
    assert [t.replace("region", "region[") + "]" if t.startswith("region") else t for t in exp["terms"]] == terms
    site_parts = [g for _, g in df.groupby(py["site"], sort=True)]
    assert len(site_parts) == 3 and "west" not in set(site_parts[2]["region"])  # a level absent at one site
    evals = [FineGraySite(g, py["duration"], py["event"], py["covariates"], terms).evaluate for g in site_parts]
    fit = federated_finegray(summed(evals), terms, gtol=1e-12)
    tol = exp["tolerance"]
    np.testing.assert_allclose(fit.coef, exp["coef"], rtol=tol["coef"])
    assert fit.loglik_null == pytest.approx(exp["loglik"][0], rel=tol["loglik"])
    assert fit.loglik == pytest.approx(exp["loglik"][1], rel=tol["loglik"])
    info = sum(f(fit.coef).info for f in evals)
    np.testing.assert_allclose(info, np.array(exp["information"]), rtol=tol["information"])
