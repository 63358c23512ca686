"""Multi-site studies whose age and calendar year enter as bands or splines.

Bands cut at the study's breaks are the same at every site, so the federated fit equals the
site-stratified fit on the union with the same bands; a spline's knots are each site's own quantiles,
so a multi-site run of such a study is refused before any data is read.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from cohortstat import run
from cohortstat.errors import CohortWarning, SpecError
from cohortstat.models import CoxPH
from cohortstat.sites.pool import pool
from tests.core_study import core_document


def _study(tmp_path, **covariates):
    doc = core_document()
    doc["outcomes"] = {"lung": doc["outcomes"]["lung"]}
    doc["covariates"].update(covariates)
    folder = tmp_path / "study"
    folder.mkdir()
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_banded_terms_pool_exactly(tmp_path):
    from cohortstat.sites.synth import generate_network

    study = _study(tmp_path, age={"form": "categories", "breaks": [50, 65, 80]},
                   calendar_year={"form": "categories", "breaks": [2012, 2014]})
    plan = generate_network(2, 6000, 5, tmp_path / "data")
    runs = []
    for p in plan:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=CohortWarning)
            runs.append(run(study, tmp_path / "data" / p["name"], tmp_path / "runs" / p["name"], site=p["name"]))
    pkg = json.loads((runs[0] / "site_package" / "package.json").read_text())
    assert "cut(age)" in pkg["covariates"] and "cut(calendar_year)" in pkg["covariates"]
    est = pool(runs).estimates
    fed = est.loc[(est["analysis"] == "pooled_federated") & (est["model"] == "cox")
                  & (est["adjustment"] == "adjusted")].set_index("term")
    assert {"cut(age)[65-79]", "cut(calendar_year)[>=2014]"} <= set(fed.index)

    union = pd.concat([pd.read_parquet(r / ".site_private" / "analysis.parquet").assign(site=r.name) for r in runs],
                      ignore_index=True)
    sub = union.loc[union["time_lung"].notna()]
    ref = CoxPH(ties="efron").fit(sub, duration="time_lung", event="event_lung", covariates=pkg["covariates"],
                                  strata="site")
    np.testing.assert_allclose(fed.loc[list(ref.coef.index), "log_estimate"], ref.coef, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fed.loc[list(ref.coef.index), "se"], ref.se, rtol=1e-8)


@pytest.mark.parametrize("name", ["age", "calendar_year"])
def test_spline_terms_are_refused_before_any_data_is_read(tmp_path, name):
    study = _study(tmp_path, **{name: {"form": "spline", "df": 3}})
    missing = tmp_path / "no_such_data"  # never read: the refusal comes first
    with pytest.raises(SpecError, match=rf"covariates\.{name}: form: spline cannot be used in a multi-site study"):
        run(study, missing, tmp_path / "out", site="nantes")
    assert not (tmp_path / "out").exists()
