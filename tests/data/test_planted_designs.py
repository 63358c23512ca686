"""The planted design effects are recovered: age-band and period hazard ratios, negative controls
(HR 1 given the unmeasured confounder U, biased without it), sepsis vs nonsevere infection, and
empirical calibration of the negative controls over many seeds."""

from __future__ import annotations

import numpy as np
import pytest

from cohortstat.data import _synth_params as P
from cohortstat.data import synth
from cohortstat.data._synth_design import nc_outcome
from cohortstat.models import calibration

from . import planted

Z95 = 1.959963984540054


def _inside(truth: float, est: float, se: float) -> bool:
    return est - Z95 * se < truth < est + Z95 * se


def test_age_band_hazard_ratios_are_recovered(design_truth):
    fits = planted.age_band_fits(design_truth)
    assert len(fits) == len(P.MYELOID_EXPOSURE_BY_AGE_BAND) == len(P.AGE_BAND_EDGES) - 1
    for j, (truth, est, se) in enumerate(fits):
        assert _inside(truth, est, se), (j, truth, est, se)
    # effect modification is real: youngest and oldest bands differ beyond chance
    (_, e0, s0), (_, e3, s3) = fits[0], fits[-1]
    assert (e0 - e3) / np.hypot(s0, s3) > 3


def test_period_hazard_ratios_are_recovered(design_truth):
    fits = planted.period_fits(design_truth)
    for j, (truth, est, se) in enumerate(fits):
        assert _inside(truth, est, se), (j, truth, est, se)
    assert (fits[-1][1] - fits[0][1]) / np.hypot(fits[0][2], fits[-1][2]) > 2


def test_design_outcomes_keep_proportional_hazards_within_bands_and_periods(design_truth):
    """The whole-follow-up in_situ HR mixes the periods: it lies between the first and last."""
    est, _ = planted.exposure_fit(design_truth, "in_situ")
    assert P.IN_SITU_EXPOSURE_BY_PERIOD[0] < est < P.IN_SITU_EXPOSURE_BY_PERIOD[-1]


@pytest.mark.parametrize("name", list(P.NEGATIVE_CONTROLS))
def test_negative_control_has_hr_one_given_u(design_truth, name):
    (est, se) = planted.exposure_fit(design_truth, nc_outcome(name), planted.ADJUST + ["unmeasured_u"])
    assert _inside(0.0, est, se), (name, est, se)


def test_negative_controls_are_biased_without_u_by_the_planted_amount(design_truth):
    fits = planted.negative_control_fits(design_truth, with_u=False)
    for name, (est, se) in fits.items():
        assert _inside(P.negative_control_bias(name), est, se), (name, est, se)
    y = np.array([e for e, _ in fits.values()])
    w = 1 / np.array([s for _, s in fits.values()]) ** 2
    pooled, pooled_se = float((w * y).sum() / w.sum()), float(w.sum() ** -0.5)
    assert pooled / pooled_se > 4  # systematic error to correct: away from 0
    assert (design_truth.groupby("exposure")["unmeasured_u"].mean().diff().iloc[-1]
            == pytest.approx(P.UNMEASURED_U["p_exposed"] - P.UNMEASURED_U["p_reference"], abs=0.02))


def test_sepsis_vs_nonsevere_infection_is_recovered(nonsevere_truth):
    fits = planted.nonsevere_fits(nonsevere_truth)
    assert set(fits) == {"lung", "skin", "oropharynx", "breast", "other"}
    for k, (truth, est, se) in fits.items():
        assert _inside(truth, est, se), (k, truth, est, se)
    groups = nonsevere_truth["exposure"].value_counts()
    assert groups[0] > groups[1] > 5_000


def test_nonsevere_patients_are_confounded_like_the_trauma_group(nonsevere_truth):
    """Sepsis patients are older and more often smokers than nonsevere-infection patients: matching
    or adjustment has work to do."""
    g = nonsevere_truth.groupby("exposure")
    assert g["age"].mean()[1] > g["age"].mean()[0] + 2
    assert g["tobacco"].mean()[1] > g["tobacco"].mean()[0]


def _loo_coverage(y: np.ndarray, se: np.ndarray) -> tuple[int, int]:
    """Covered by the uncalibrated CI, by the calibrated CI (null fitted on the other controls)."""
    raw = int((np.abs(y) < Z95 * se).sum())
    cal = 0
    for i in range(len(y)):
        o = np.arange(len(y)) != i
        ci = calibration.calibrate_ci(calibration.fit_null(y[o], se[o]), y[i:i + 1], se[i:i + 1])
        cal += int(ci["log_ci_lower"].iloc[0] < 0.0 < ci["log_ci_upper"].iloc[0])
    return raw, cal


@pytest.mark.slow
def test_calibrated_negative_control_intervals_cover_over_seeds():
    """20 datasets x 8 controls: leave-one-out calibrated CIs cover the true HR 1 in 90-99 % of cases,
    the uncalibrated ones (adjusted for the measured covariates, not for U) below 90 %."""
    raw = cal = total = 0
    for seed in range(1000, 1020):
        d = synth.ground_truth_table(20_000, seed)
        fits = planted.negative_control_fits(d, with_u=False)
        y = np.array([e for e, _ in fits.values()])
        se = np.array([s for _, s in fits.values()])
        r, c = _loo_coverage(y, se)
        raw, cal, total = raw + r, cal + c, total + len(y)
    assert total == 160
    assert 0.90 <= cal / total <= 0.99, (raw, cal, total)
    assert raw / total < 0.90, (raw, cal, total)


def test_cohort_builder_reproduces_the_nonsevere_comparison(tmp_path):
    """The shipped study's ``infection_comparator`` variant on the files gives the generator's
    sepsis-vs-nonsevere table, plus only exposed rows: the reference-group patients with a second,
    sepsis, stay (docs/synthetic-data.md), fewer than the planted "both" patients."""
    import json

    import cohortstat
    from cohortstat.spec.variants import resolve_variant, with_negative_controls

    n, seed = 6_000, 3
    folder = synth.generate(n, seed, tmp_path / "d")
    shipped = cohortstat.load_study("studies/sepsis_cancer.yaml")
    study = with_negative_controls(resolve_variant(shipped, "infection_comparator"))
    table = cohortstat.build_cohort(study, data=folder).table
    truth = synth.ground_truth_table(n, seed, reference="nonsevere_infection")
    cols = ["exposure", "index_admission", "index_discharge", "age", "sex", "charlson", "tobacco", "alcohol"]
    cols += [f"{a}_{o}" for o in study.outcomes for a in ("time", "event")]
    assert {f"time_{nc_outcome(k)}" for k in P.NEGATIVE_CONTROLS} <= set(cols)
    frames = []
    for d in (table, truth):
        d = d[cols].copy()
        for c in cols[8:]:
            d[c] = d[c].astype(float).fillna(-1.0)
        frames.append(d)
    m = frames[0].merge(frames[1], on=cols, how="outer", indicator=True)
    counts = m["_merge"].value_counts()
    assert counts["both"] == len(truth) > 2_000 and counts["right_only"] == 0
    extra = m[m["_merge"] == "left_only"]
    both = json.loads((folder / "truth.json").read_text())["counts"]["both"]
    assert (extra["exposure"] == 1).all() and 0 < len(extra) < both
