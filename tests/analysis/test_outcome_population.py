"""An outcome analysed in its population (``outcomes.<o>.population``), on synthetic and hand-built data.

On ``cohortstat synth`` data breast cancer is planted with a large female effect and the same exposure
effect in both sexes: restricted to women, its hazard ratio agrees with the adjusted model on everyone
(within the 95% CIs), and the events in men leave the outcome.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from cohortstat.analysis import analyze
from cohortstat.cohort import build_cohort
from cohortstat.errors import CohortWarning
from cohortstat.spec import load_study
from tests.analysis.helpers import shipped_core
from tests.cohort import fixtures
from tests.cohort import test_semantics as tiny


def _study(confounding=None):
    doc = shipped_core()
    breast = doc["outcomes"]["breast"]
    doc["outcomes"] = {"breast": {**breast, "population": {"sex": "female"}}, "breast_all": dict(breast)}
    doc["analyses"]["fine_gray"] = {"crude": False, "adjusted": False}
    if confounding:
        doc["analyses"]["confounding"] = confounding
    return load_study(doc)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from cohortstat.data.synth import generate

    return generate(6000, 3, tmp_path_factory.mktemp("population") / "data")


@pytest.fixture(scope="module")
def results(data):
    study = _study()
    cohort = build_cohort(study, data=data)
    return cohort, analyze(study, cohort)


def _hr(outcome, model="cox_adjusted"):
    row = outcome.models.loc[(outcome.models["model"] == model) & (outcome.models["term"] == "exposure")].iloc[0]
    return float(row["hr"]), float(row["ci_lower"]), float(row["ci_upper"])


def test_restricted_hr_agrees_with_the_adjusted_model_on_everyone(results):
    _, res = results
    women, everyone = (next(o for o in res.outcomes if o.name == n) for n in ("breast", "breast_all"))
    hr_w, lo_w, hi_w = _hr(women)
    hr_a, lo_a, hi_a = _hr(everyone)
    assert lo_a <= hr_w <= hi_a and lo_w <= hr_a <= hi_w
    assert math.isfinite(hr_w) and hr_w != hr_a  # a different sample, not the same fit
    # female is constant among women: left out of the restricted model, kept in the other
    assert "female" not in set(women.models["term"]) and "female" in set(everyone.models["term"])
    assert ("breast: female left out of the adjusted models (the same for every person of the outcome's "
            "population)") in women.notes


def test_events_in_men_leave_the_outcome(results):
    cohort, res = results
    t = cohort.table
    men = t["sex"] == 1
    assert t.loc[men, "time_breast"].isna().all()
    men_events = int((t.loc[men, "event_breast_all"] == 1).sum())
    women, everyone = (next(o for o in res.outcomes if o.name == n) for n in ("breast", "breast_all"))
    assert men_events > 0
    ev_w = women.rates.set_index("group")["events"]
    ev_a = everyone.rates.set_index("group")["events"]
    men_by_group = t.loc[men & (t["event_breast_all"] == 1), "group"].value_counts()
    for g in ("sepsis", "trauma"):
        assert ev_w[g] == ev_a[g] - int(men_by_group.get(g, 0))
    n = women.rates.set_index("group")["n"]
    assert f"breast: women only (its population), persons analysed: sepsis {n['sepsis']}, trauma {n['trauma']}" \
        in women.notes
    assert n.sum() == int(t["time_breast"].notna().sum()) == int((~men & t["time_breast_all"].notna()).sum())


def test_population_after_matching_keeps_sets_of_one_sex(data):
    """Matching exact on sex: the population (women) keeps the women's sets whole and leaves the men's."""
    study = _study({"method": "matching", "exact": ["sex"], "outcome_model": "conditional", "seed": 1})
    cohort = build_cohort(study, data=data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CohortWarning)  # balance warnings of the confounding step
        res = analyze(study, cohort)
    women = next(o for o in res.outcomes if o.name == "breast")
    [note] = [n for n in women.notes if "population taken after matching" in n]
    kept, total = (int(v) for v in note.split(": ")[2].split(" matched sets")[0].split(" of "))
    assert 0 < kept < total
    hr, lo, hi = _hr(women, "cox_ps")
    assert np.isfinite([hr, lo, hi]).all() and lo < hr < hi


def test_population_leaving_a_group_empty_is_a_note(tmp_path):
    """Hand-built data (tests/cohort/test_semantics.py): no trauma man aged 65 or more."""
    data = fixtures.write_dataset(tmp_path / "tiny", tiny.PATIENTS, tiny.STAYS)
    study = load_study(tiny.study_text(population="{sex: male, min_age: 65}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CohortWarning)  # no breast event in either group (checked there)
        cohort = build_cohort(study, data=data)
    res = analyze(study, cohort)
    breast = next(o for o in res.outcomes if o.name == "breast")
    assert "breast: men aged 65 years or more only (its population), persons analysed: sepsis 1, trauma 0" \
        in breast.notes
    assert ("breast: no trauma patient at risk in its population (men aged 65 years or more: outside it, or the "
            "outcome before follow-up); groups not compared") in breast.notes
    assert breast.models.empty
    assert list(breast.rates["n"]) == [1, 0]
