"""End to end, missing birth years: with an age rule, the attrition counts 'birth year unknown' as a step of
its own; without one, Table 1 shows the Age: missing row and the adjusted models say how many patients they
left out (complete cases), and the Fine-Gray CIF-sum diagnostic still runs.

Small synthetic data (`cohortstat synth --patients 3000`) with the birth year blanked for a seeded tenth
of the patients, so that every count checked is published (at least the minimum cell count).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from cohortstat.cli import app
from cohortstat.constants import event_column, time_column
from cohortstat.report.figures_flow import exclusion_reason
from tests.core_study import core_document

K = 10


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("missing_by") / "data"
    res = CliRunner().invoke(app, ["synth", "--patients", "3000", "--seed", "23", "--out", str(out)])
    assert res.exit_code == 0, res.output
    path = out / "patients.parquet"
    t = pq.read_table(path)
    by = t.column("birth_year").to_numpy(zero_copy_only=False).astype(float)
    blank = np.random.default_rng(23).random(len(by)) < 0.1
    col = pa.array(np.where(np.isnan(by), 0, by).astype(np.int32), mask=blank | np.isnan(by))
    pq.write_table(t.set_column(t.schema.get_field_index("birth_year"), "birth_year", col), path)
    return out


def _study(tmp_path_factory, name: str, age_rule: bool):
    doc = core_document()
    if not age_rule:
        doc["inclusion"] = [r for r in doc["inclusion"] if r["rule"] != "age_at_index"]
    path = tmp_path_factory.mktemp(f"study_{name}") / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _run(study, data, out):
    res = CliRunner().invoke(app, ["run", str(study), "--data", str(data), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def no_age_rule(data, tmp_path_factory):
    import cohortstat as cs

    study = _study(tmp_path_factory, "no_age_rule", age_rule=False)
    out = tmp_path_factory.mktemp("run_no_age") / "out"
    cohort = cs.build_cohort(cs.load_study(study), data=data, engine="duckdb")
    return _run(study, data, out), out, cohort.table


def test_table_one_shows_the_missing_age_row_with_its_counts(no_age_rule):
    res, out, table = no_age_rule
    rows = [r for r in res["table_one"] if r["variable"] == "Age, years: missing"]
    missing = {r["level"]: r for r in rows}
    assert set(missing) == {"missing", "recorded"} and missing["missing"]["show"]
    for g in res["groups"]:
        n = int(table.loc[table["group"] == g, "age"].isna().sum())
        assert n >= K and missing["missing"][f"n_{g}"] == n
        assert missing["missing"][f"pct_{g}"] == pytest.approx(100 * n / int((table["group"] == g).sum()))
    html = (out / "report.html").read_text()
    assert "Age, years: missing, n (%)" in html


def test_adjusted_models_say_how_many_rows_they_left_out(no_age_rule):
    res, out, table = no_age_rule
    assert not any("left out" in n or "dropped" in n for n in res["notes"])  # per model, not per run
    for name, o in res["outcomes"].items():
        sub = table.loc[table[time_column(name)].notna()]
        dropped = int(sub["age"].isna().sum())
        for model in ("cox_adjusted", "fg_adjusted"):
            note = f"{name} {model}: {dropped} row(s) dropped for missing values (age {dropped})"
            assert note in o["notes"], (name, model, [n for n in o["notes"] if "dropped" in n])
            fit = next(m for m in o["models"] if m["model"] == model and m["term"] == "exposure")
            if isinstance(fit["n"], int):
                assert fit["n"] == len(sub) - dropped
        for model in ("cox_crude", "fg_crude"):  # the crude models use no covariate with missing values
            assert not any(n.startswith(f"{name} {model}: ") and "dropped" in n for n in o["notes"])
    html = (out / "report.html").read_text()
    m = re.search(r"Missing covariates: the adjusted models are fitted on the patients whose covariates are all "
                  r"recorded \(complete cases; Table 1 shows the missing values\); patients left out: ([^<]*)\.", html)
    assert m, "Table 3 note on missing covariates"
    lung = table.loc[table[time_column("lung")].notna(), "age"].isna().sum()
    assert f"Lung cancer {lung} (age {lung})" in m.group(1)


def test_the_cif_sum_diagnostic_runs_on_the_complete_cases(no_age_rule):
    res, _, table = no_age_rule
    rows = res["diagnostics"]["cif_sum"]
    with_deaths = [o for o in res["outcomes"] if (table[event_column(o)] == 2).any()]
    assert {r["outcome"] for r in rows} == set(with_deaths) and all(r["model"] == "fg_adjusted" for r in rows)
    assert all(np.isfinite(r["max_sum"]) for r in rows)


def test_charlson_is_never_missing(no_age_rule):
    _, _, table = no_age_rule
    assert table["charlson"].notna().all()  # no diagnosis of a component counts as 0: no missing row
    res = no_age_rule[0]
    assert not any(str(r["variable"]).startswith("Charlson") and r["variable"].endswith(": missing")
                   for r in res["table_one"])


def test_the_age_rule_counts_an_unknown_birth_year_as_its_own_exclusion(data, tmp_path_factory):
    import cohortstat as cs

    study = _study(tmp_path_factory, "age_rule", age_rule=True)
    out = tmp_path_factory.mktemp("run_age") / "out"
    res = _run(study, data, out)
    cohort = cs.build_cohort(cs.load_study(study), data=data, engine="duckdb")
    att = cohort.attrition.set_index("rule_id")
    assert list(att.index[2:4]) == ["adult.birth_year", "adult"]
    patients = pd.read_parquet(data / "patients.parquet")
    assert patients["birth_year"].isna().sum() > 100
    for g in res["groups"]:
        unknown = int(att.loc["adult.birth_year", f"excluded_{g}"])
        assert unknown >= K and unknown == att.loc["in_both", f"n_{g}"] - att.loc["adult.birth_year", f"n_{g}"]
        assert att.loc["adult", f"excluded_{g}"] >= 1  # minors
    published = {r["rule_id"]: r for r in res["attrition"]}
    for g in res["groups"]:  # published (or suppressed together); never a small difference
        steps = [published[s][f"n_{g}"] for s in ("in_both", "adult.birth_year", "adult")]
        ints = [v for v in steps if isinstance(v, int)]
        assert all(not 0 < a - b < K for a, b in zip(ints, ints[1:]))
    assert published["adult.birth_year"][f"excluded_{res['groups'][0]}"] == int(
        att.loc["adult.birth_year", f"excluded_{res['groups'][0]}"])
    csv = pd.read_csv(out / "attrition.csv").set_index("rule_id")
    assert csv.loc["adult.birth_year", "description"] == "Birth year known (age at index computable)"
    assert exclusion_reason("adult.birth_year", "Birth year known") == "Excluded: birth year unknown"
