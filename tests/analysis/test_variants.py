"""Property: a sensitivity variant's results equal the main results of a separate run of the study with
that override applied, to the last digit (on synthetic data)."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from cohortstat import analyze
from cohortstat.analysis import analyze_variants
from cohortstat.analysis.fit_cache import reuse_fits
from cohortstat.cohort import build_cohort
from cohortstat.spec import load_study

from .helpers import shipped_core

OVERRIDES = {
    "blanking_2y": ("follow_up", {"blanking_days": 730}),
    "iptw": ("analyses", {"confounding": {"method": "iptw", "stabilized": False}}),
    "no_flags": ("covariates", {"flags": []}),
}


def _base_doc():
    doc = shipped_core()
    doc["outcomes"] = {k: v for k, v in doc["outcomes"].items() if k in ("lung", "all_cancers")}
    doc["analyses"]["subgroups"] = ["sex"]
    doc["analyses"]["periods"] = [[365, 1095], [1095, 3650]]
    return doc


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from cohortstat.data.synth import generate

    return generate(3000, 5, tmp_path_factory.mktemp("variants") / "data")


@pytest.fixture(scope="module")
def with_variants(data):
    doc = _base_doc()
    doc["sensitivity"] = {name: {part: value} for name, (part, value) in OVERRIDES.items()}
    study = load_study(doc)
    cohort = build_cohort(study, data)
    built = []

    def build(s):
        built.append(s)
        return build_cohort(s, data)

    with reuse_fits() as store:  # as `cohortstat run`: the variants reuse the main analysis's identical fits
        results = analyze_variants(study, analyze(study, cohort), cohort, build=build)
    return results, built, dict(store)


def _separate(data, part, value):
    doc = _base_doc()
    if part == "analyses":
        doc["analyses"]["confounding"].update(value["confounding"])
    else:
        doc[part] = {**doc[part], **copy.deepcopy(value)}
    study = load_study(doc)
    return analyze(study, build_cohort(study, data))


@pytest.mark.parametrize("name", list(OVERRIDES))
def test_variant_equals_a_separate_run_to_the_last_digit(with_variants, data, name):
    results, _, _ = with_variants
    variant = dict(results.variants)[name]
    alone = _separate(data, *OVERRIDES[name])
    rows = results.estimates().query("analysis == @name").drop(columns="analysis").reset_index(drop=True)
    expected = alone.estimates().drop(columns="analysis")
    assert len(rows) > 0
    pd.testing.assert_frame_equal(rows, expected, check_exact=True)
    for a, b in zip(variant.outcomes, alone.outcomes):
        pd.testing.assert_frame_equal(a.rates, b.rates, check_exact=True)
        pd.testing.assert_frame_equal(a.models, b.models, check_exact=True)
        assert a.notes == b.notes
    pd.testing.assert_frame_equal(variant.attrition, alone.attrition, check_exact=True)


def test_only_cohort_changing_variants_build_a_cohort(with_variants):
    results, built, _ = with_variants
    assert [s.follow_up.blanking_days for s in built] == [730, 365]  # blanking_2y, no_flags; not iptw
    assert [n for n, _ in results.variants] == list(OVERRIDES)
    main = results.estimates().query("analysis == 'main'")
    assert len(main) == len(results.estimates()) - sum(len(r.estimates()) for _, r in results.variants)
    # the variants do change something
    iptw = results.estimates().query("analysis == 'iptw'")
    assert set(iptw["adjustment"]) > set(main["adjustment"])


def test_a_variant_changing_only_analyses_refits_nothing_the_main_analysis_fitted(with_variants):
    results, _, store = with_variants
    fits = [k for k in store if isinstance(k, tuple) and k[0] == "fit"]
    # main: crude and adjusted Cox and Fine-Gray per outcome (+ the death model of the CIF-sum check);
    # iptw adds only its weighted models; the blanking and no-flags variants have cohorts of their own
    assert store["hits"] >= 4 * len(results.outcomes)  # iptw's crude and adjusted models, every outcome
    assert len(fits) == store["misses"] - sum(1 for k in store if isinstance(k, tuple) and k[0] in ("cached", "for"))


@pytest.mark.parametrize("kind", ["cif", "gray", "effects"])
def test_outcome_summaries_are_computed_once_per_cohort(with_variants, kind):
    """Cumulative incidence, Gray's test, subgroup and period models do not depend on the confounding
    method: iptw gets the main analysis's; the two variants with cohorts of their own get new ones."""
    results, _, store = with_variants
    keys = [k for k in store if isinstance(k, tuple) and k[:2] == ("cached", kind)]
    cohorts = 3  # main (shared with iptw), blanking_2y, no_flags
    assert len(keys) == cohorts * len(results.outcomes)
    effects = [o.effects for o in results.outcomes]
    assert all(e is not None and len(e) for e in effects)  # the subgroup and period rows exist


def test_stored_fits_keep_no_arrays_and_the_ph_test_is_stored_beside_them(with_variants):
    """The store holds no design matrix (memory at millions of rows); the PH test, which needs it, was
    computed once per Cox fit on the full result."""
    _, _, store = with_variants
    entries = [v for k, v in store.items() if isinstance(k, tuple) and k[0] == "fit"]
    assert entries and all(getattr(e.result, "_data", None) is None for e in entries)
    ph = [e for e in entries if any(label[0] == "ph" for label in e.values)]
    assert len(ph) == 3 * 2  # main (shared with iptw), blanking_2y, no_flags; two outcomes


def test_a_variant_changing_the_ph_test_refits_for_it(data):
    """A reused fit has no arrays; a PH test not computed before refits the model in full."""
    doc = _base_doc()
    doc["sensitivity"] = {"ph_rank": {"analyses": {"ph_test": {"transform": "rank"}}}}
    study = load_study(doc)
    cohort = build_cohort(study, data)
    with reuse_fits():
        results = analyze_variants(study, analyze(study, cohort), cohort)
    alone_doc = _base_doc()
    alone_doc["analyses"]["ph_test"] = {"transform": "rank"}
    alone = analyze(load_study(alone_doc), cohort)
    variant = dict(results.variants)["ph_rank"]
    for a, b, m in zip(variant.outcomes, alone.outcomes, results.outcomes):
        assert len(a.ph) > 0
        pd.testing.assert_frame_equal(a.ph, b.ph, check_exact=True)
        assert a.notes == b.notes
        assert not a.ph.equals(m.ph)  # the transform changed the test


@pytest.mark.parametrize("kind", ["table_one", "diagnostics"])
def test_table_one_and_diagnostics_are_computed_once_per_cohort(with_variants, kind):
    """Table 1 of the cohort and the per-outcome diagnostics (follow-up, MDRR, CIF sums) do not depend on
    the confounding method: iptw gets the main analysis's."""
    results, _, store = with_variants
    keys = [k for k in store if isinstance(k, tuple) and k[0] == "for" and k[2] == kind]
    per_cohort = 1 if kind == "table_one" else len(results.outcomes)
    assert len(keys) == 3 * per_cohort  # main (shared with iptw), blanking_2y, no_flags
    iptw = dict(results.variants)["iptw"]
    pd.testing.assert_frame_equal(iptw.diagnostics.follow_up, results.diagnostics.follow_up, check_exact=True)
