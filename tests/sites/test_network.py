"""End to end on a simulated network: synth --sites, run --site, inspect-package, site-step, pool.

One network of 3 sites (the last one small, run with a minimum cell count of 40 so that an outcome
falls below it) and one run per site are shared by the module; the study
is the shipped one restricted to two outcomes to keep the runs short.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.errors import CohortWarning
from cohortstat.models.cox import CoxPH
from cohortstat.report.suppression import scan_outputs
from cohortstat.run import run
from cohortstat.sites.errors import PoolError
from cohortstat.sites.manifest import write_manifest
from cohortstat.sites.node import site_step
from cohortstat.sites.pool import pool
from tests.core_study import core_study_path

STUDY = core_study_path()
OUTCOMES = ("lung", "all_cancers")
SITES = ("site_a", "site_b", "site_c")
SMALL_SITE_K = 40


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    from cohortstat.sites.synth import generate_network

    root = tmp_path_factory.mktemp("net")
    doc = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    doc["outcomes"] = {k: v for k, v in doc["outcomes"].items() if k in OUTCOMES}
    (root / "study").mkdir()
    study = root / "study" / "study.yaml"
    study.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    plan = generate_network(3, 9000, 5, root / "data")
    outs = {}
    for p in plan:
        with warnings.catch_warnings():
            # the small site may lack outcome events in a group (a CohortWarning); anything else still fails
            warnings.filterwarnings("ignore", category=CohortWarning)
            outs[p["name"]] = run(study, root / "data" / p["name"], root / "runs" / p["name"], site=p["name"],
                                  min_cell_count=SMALL_SITE_K if p["name"] == "site_c" else 10)
    return {"root": root, "study": study, "plan": plan, "runs": outs}


def _union(network) -> pd.DataFrame:
    frames = [pd.read_parquet(out / ".site_private" / "analysis.parquet").assign(site=name)
              for name, out in network["runs"].items()]
    return pd.concat(frames, ignore_index=True)


def test_network_sites_differ_in_size_and_case_mix(network):
    plan = network["plan"]
    kept = [p["kept"]["rows_patients"] for p in plan]
    assert kept[-1] < 0.25 * min(kept[:-1])  # one small site
    ages = []
    for p in plan:
        pts = pd.read_parquet(network["root"] / "data" / p["name"] / "patients.parquet")
        ages.append(float((2013 - pts["birth_year"]).mean()))
    assert ages[0] > ages[1] + 2  # the older catchment against the younger one
    net = json.loads((network["root"] / "data" / "network.json").read_text())
    assert [s["name"] for s in net["sites"]] == list(SITES)


def test_site_package_holds_aggregates_only(network):
    out = network["runs"]["site_a"]
    pkg = out / "site_package"
    names = {p.relative_to(pkg).as_posix() for p in pkg.rglob("*") if p.is_file()}
    assert {"package.json", "MANIFEST.json", "study.lock.json", "results.json", "estimates.csv"} <= names
    assert not [n for n in names if n.endswith(".parquet")]
    assert (out / ".site_private" / "analysis.parquet").is_file()
    ids = pd.read_parquet(network["root"] / "data" / "site_a" / "patients.parquet")["patient_id"]
    assert scan_outputs(pkg, 10, identifiers=ids) == []
    lock = json.loads((pkg / "study.lock.json").read_text())
    assert set(lock["data_fingerprint"]) == {"sha256"}  # row counts and table hashes stay at the site
    text = "".join(p.read_text() for p in pkg.rglob("*") if p.is_file())
    assert "person_key" not in text  # no person-level column of the analysis table
    # "index_discharge" is also a value of the study's washout setting (no_prior_concept.window_end)
    assert '"index_discharge":' not in text and "index_discharge," not in text


def test_inspect_package_lists_every_number(network):
    pkg = network["runs"]["site_a"] / "site_package"
    res = CliRunner().invoke(app, ["inspect-package", str(pkg)])
    assert res.exit_code == 0, res.output
    coef = pd.read_csv(pkg / "estimates.csv", dtype=str)["coef"].iloc[0]
    assert "== estimates.csv" in res.output and f"row 2, coef = {coef}\n" in res.output
    assert "[suppressed]" in res.output
    n_numbers = int(res.output.strip().splitlines()[-1].split()[0])
    assert n_numbers > 100


def test_federated_pool_equals_stratified_fits_on_the_union(network):
    res = pool([network["runs"][s] for s in SITES[:2]])
    est = res.estimates
    union = _union(network)
    union = union.loc[union["site"].isin(SITES[:2])]
    covs = json.loads((network["runs"]["site_a"] / "site_package" / "package.json").read_text())["covariates"]
    for outcome in OUTCOMES:
        sub = union.loc[union[f"time_{outcome}"].notna()]
        ref = CoxPH(ties="efron").fit(sub, duration=f"time_{outcome}", event=f"event_{outcome}",
                                      covariates=covs, strata="site")
        fed = est.loc[(est["analysis"] == "pooled_federated") & (est["outcome"] == outcome)
                      & (est["model"] == "cox") & (est["adjustment"] == "adjusted")].set_index("term")
        np.testing.assert_allclose(fed.loc[list(ref.coef.index), "log_estimate"], ref.coef, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(fed.loc[list(ref.coef.index), "se"], ref.se, rtol=1e-8)
    assert set(est["analysis"]) == {"pooled_federated", "pooled_fixed", "pooled_random", "site:site_a",
                                    "site:site_b"}
    # the meta-analysed rows are the meta-analysis of the site rows
    from cohortstat.models.meta import meta_fixed, meta_random

    key = (est["outcome"] == "lung") & (est["model"] == "fine_gray") & (est["adjustment"] == "adjusted") & (
        est["term"] == "exposure")
    rows = est.loc[key].set_index("analysis")
    sites = rows.loc[["site:site_a", "site:site_b"]]
    fe, re = meta_fixed(sites["log_estimate"], sites["se"]), meta_random(sites["log_estimate"], sites["se"])
    assert rows.loc["pooled_fixed", "log_estimate"] == pytest.approx(fe.estimate, rel=1e-12)
    assert rows.loc["pooled_random", "ci_upper"] == pytest.approx(np.exp(re.ci_upper), rel=1e-12)
    assert rows.loc["pooled_random", "tau2"] == pytest.approx(re.tau2, abs=1e-15)


def test_federated_finegray_equals_expanded_weighted_stratified_cox(network, finegray_expansion):
    from cohortstat.sites.exchange import Coordinator, LocalSite

    union = _union(network)
    union = union.loc[union["site"].isin(SITES[:2])]
    sub = union.loc[union["time_lung"].notna(), ["site", "exposure", "age", "time_lung", "event_lung"]]
    coord = Coordinator([LocalSite(s, network["runs"][s]) for s in SITES[:2]],
                        json.loads((network["runs"]["site_a"] / ".site_private" / "private.json").read_text())["spec_hash"])
    fed = coord.fit("fine_gray", "lung", ["exposure", "age"], ["exposure", "age"])
    exp = finegray_expansion(sub, "site", "time_lung", "event_lung")
    ref = CoxPH(ties="breslow", eps=1e-12, iter_max=50).fit(exp, duration="stop", event="status", entry="start",
                                                             covariates=["exposure", "age"], strata="site", weights="w")
    np.testing.assert_allclose(fed.coef, ref.coef.to_numpy(), rtol=1e-8)
    assert fed.loglik == pytest.approx(ref.loglik, rel=1e-10)


def test_site_step_by_file_exchange_gives_the_in_process_numbers(network, tmp_path):
    exchange = tmp_path / "exchange"
    stop = threading.Event()

    def site_daemon(name):  # the remote sites: answer every new request file once (what site-step does)
        while not stop.is_set():
            for req in sorted(exchange.glob("round-*/request.json")):
                resp = req.parent / f"{name}.json"
                if not resp.exists():
                    site_step(network["runs"][name], req, resp)
            time.sleep(0.02)

    threads = [threading.Thread(target=site_daemon, args=(s,), daemon=True) for s in SITES[:2]]
    for t in threads:
        t.start()
    try:
        pkgs = [str(network["runs"][s] / "site_package") for s in SITES[:2]]
        remote = pool(pkgs, exchange=exchange, timeout=60)
    finally:
        stop.set()
        for t in threads:
            t.join()
    local = pool(pkgs)
    fed = lambda r: r.estimates.loc[r.estimates["analysis"] == "pooled_federated"].reset_index(drop=True)
    pd.testing.assert_frame_equal(fed(remote), fed(local))
    assert len(list(exchange.glob("round-*"))) > 4


def test_small_site_is_refused_unless_dropped(network, tmp_path):
    runs = [str(network["runs"][s]) for s in SITES]
    small = json.loads((network["runs"]["site_c"] / "site_package" / "package.json").read_text())
    if all(o["status"] == "ok" for o in small["outcomes"].values()):
        pytest.fail("the small site should have an outcome below the minimum cell count")
    r = CliRunner().invoke(app, ["pool", *runs, "--out", str(tmp_path / "p1")])
    assert r.exit_code == 2 and "site site_c" in r.output and "--drop-site" in r.output
    assert not (tmp_path / "p1").exists()
    r = CliRunner().invoke(app, ["pool", *runs, "--out", str(tmp_path / "p2"), "--drop-site", "site_c"])
    assert r.exit_code == 0, r.output
    est = pd.read_csv(tmp_path / "p2" / "tables" / "estimates.csv")
    assert not est["analysis"].eq("site:site_c").any()
    assert {"pooled_federated", "pooled_fixed", "pooled_random"} <= set(est["analysis"])
    for f in ("report.html", "pool.json", "tables/attrition.csv", "tables/table1.csv", "figures/forest_lung.svg"):
        assert (tmp_path / "p2" / f).is_file(), f
    doc = json.loads((tmp_path / "p2" / "pool.json").read_text())
    assert doc["dropped_sites"] == ["site_c"]


def _copy_package(network, site, tmp_path, name) -> Path:
    dst = tmp_path / name
    shutil.copytree(network["runs"][site] / "site_package", dst / "site_package")
    return dst / "site_package"


def test_hand_edited_package_is_detected(network, tmp_path):
    pkg = _copy_package(network, "site_b", tmp_path, "b")
    est = pkg / "estimates.csv"
    est.write_text(est.read_text().replace("0.", "0.9", 1))
    r = CliRunner().invoke(app, ["pool", str(network["runs"]["site_a"]), str(pkg), "--no-federated",
                                 "--out", str(tmp_path / "p")])
    assert r.exit_code == 2 and "site site_b" in r.output and "estimates.csv: content changed" in r.output
    r = CliRunner().invoke(app, ["inspect-package", str(pkg)])
    assert r.exit_code == 2 and "does not match its manifest" in r.output


def test_different_spec_hashes_are_refused_naming_the_sites(network, tmp_path):
    pkg = _copy_package(network, "site_b", tmp_path, "b")
    meta = json.loads((pkg / "package.json").read_text())
    meta["spec_hash"] = "0" * 64  # a site that ran another version of the study
    (pkg / "package.json").write_text(json.dumps(meta))
    write_manifest(pkg)
    with pytest.raises(PoolError, match=r"different studies[\s\S]*site_a[\s\S]*site_b"):
        pool([network["runs"]["site_a"], pkg], federated=False)
    res = pool([network["runs"]["site_a"], pkg], drop_sites=["site_b"], federated=False)
    assert res.sites == ("site_a",) and res.dropped == ("site_b",)


def test_site_without_events_is_refused(network, tmp_path):
    pkg = _copy_package(network, "site_b", tmp_path, "b")
    meta = json.loads((pkg / "package.json").read_text())
    meta["outcomes"]["lung"]["status"] = "no_events"
    (pkg / "package.json").write_text(json.dumps(meta))
    write_manifest(pkg)
    with pytest.raises(PoolError, match="site site_b: no event of outcome 'lung'"):
        pool([network["runs"]["site_a"], pkg], federated=False)


def test_site_step_refuses_other_study_and_small_outcome(network, tmp_path):
    from cohortstat.sites.errors import SiteStepRefused
    from cohortstat.sites.node import PROTOCOL, SiteNode

    node = SiteNode(network["runs"]["site_c"])
    req = {"protocol": PROTOCOL, "spec_hash": node.spec_hash, "model": "cox", "outcome": "lung",
           "covariates": ["exposure"], "terms": ["exposure"], "beta": [0.0]}
    with pytest.raises(SiteStepRefused, match="other|same frozen study"):
        node.answer({**req, "spec_hash": "f" * 64})
    small = [o for o, v in json.loads((network["runs"]["site_c"] / "site_package" / "package.json").read_text())[
        "outcomes"].items() if v["status"] != "ok"]
    with pytest.raises(SiteStepRefused, match="minimum|fewer than"):
        node.answer({**req, "outcome": small[0]})
    (tmp_path / "req.json").write_text(json.dumps({**req, "spec_hash": "f" * 64}))
    r = CliRunner().invoke(app, ["site-step", str(network["runs"]["site_c"]), "--request", str(tmp_path / "req.json"),
                                 "--out", str(tmp_path / "resp.json")])
    assert r.exit_code == 2 and not (tmp_path / "resp.json").exists()


def test_site_step_command_answers_one_round(network, tmp_path):
    from cohortstat.sites.node import PROTOCOL, SiteNode

    node = SiteNode(network["runs"]["site_a"])
    req = {"protocol": PROTOCOL, "spec_hash": node.spec_hash, "model": "cox", "outcome": "lung",
           "covariates": ["exposure", "age"], "terms": ["exposure", "age"], "beta": [0.1, 0.01]}
    (tmp_path / "req.json").write_text(json.dumps(req))
    r = CliRunner().invoke(app, ["site-step", str(network["runs"]["site_a"]), "--request", str(tmp_path / "req.json"),
                                 "--out", str(tmp_path / "resp.json")])
    assert r.exit_code == 0, r.output
    resp = json.loads((tmp_path / "resp.json").read_text())
    assert set(resp) >= {"loglik", "score", "information", "site", "spec_hash"}
    assert resp == json.loads(json.dumps(node.answer(req)))  # the file holds the exact in-process numbers
    info = np.array(resp["information"])
    assert info.shape == (2, 2) and np.all(np.linalg.eigvalsh(info) > 0)
