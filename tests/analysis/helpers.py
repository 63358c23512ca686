"""Shared helpers of the analysis-layer tests: a study with chosen settings and a simulated cohort."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import yaml

from cohortstat.spec import load_study

STUDY = Path(__file__).resolve().parents[2] / "studies" / "sepsis_cancer.yaml"


def shipped_core() -> dict:
    """The shipped study's document without its designs (negative controls, sensitivity variants,
    subgroups, periods), which need columns the simulated cohorts do not have; tests of the designs
    add what they need back."""
    data = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    for key in ("negative_controls", "sensitivity"):
        data.pop(key, None)
    for key in ("subgroups", "age_bands", "periods"):
        data["analyses"].pop(key, None)
    return data


def make_study(outcomes=("lung",), confounding=None, **cox):
    """The shipped study restricted to ``outcomes``, with confounding and Cox settings overridden."""
    data = shipped_core()
    data["outcomes"] = {k: v for k, v in data["outcomes"].items() if k in outcomes}
    if confounding:
        data["analyses"]["confounding"] = confounding
    data["analyses"]["cox"].update(cox)
    return load_study(yaml.safe_dump(data, sort_keys=False))


def simulated_cohort(n=1500, seed=7, outcomes=("lung",), hr=1.5):
    """A cohort-like object (``table``, ``attrition``, ``notes``) with a planted exposure effect."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 91, n)
    exposure = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 + 0.02 * (age - 55))))).astype(int)
    t = pd.DataFrame({
        "person_key": np.arange(1, n + 1, dtype=np.int64),
        "group": np.where(exposure == 1, "sepsis", "trauma"), "exposure": exposure, "age": age,
        "sex": rng.integers(1, 3, n), "calendar_year": rng.integers(2010, 2017, n),
        "charlson": rng.poisson(1.0, n), "tobacco": (rng.random(n) < 0.25).astype(int),
        "alcohol": (rng.random(n) < 0.1).astype(int),
    })
    for name in outcomes:
        rate = 2e-4 * np.exp(np.log(hr) * exposure + 0.03 * (age - 55))
        t_event = np.ceil(rng.exponential(1 / rate))
        t_death = np.ceil(rng.exponential(1 / (1e-4 * np.exp(0.04 * (age - 55)))))
        t_cens = np.ceil(rng.uniform(365, 2900, n))
        time = np.minimum.reduce([t_event, t_death, t_cens])
        t[f"time_{name}"] = time
        t[f"event_{name}"] = np.select([time == t_event, time == t_death], [1, 2], 0).astype(float)
    n_exp = int(exposure.sum())
    attrition = pd.DataFrame({"step": [0], "rule_id": ["entry"], "description": ["Entry"],
                              "n_sepsis": [n_exp], "n_trauma": [n - n_exp]})
    return SimpleNamespace(table=t, attrition=attrition, notes=(), engine="duckdb")
