"""A simulated network of hospitals: ``cohortstat synth --sites K`` writes one data folder per site.

Each site is drawn from the synthetic generator (:func:`cohortstat.data.synth.generate`) with its own
seed, then thinned by a site-specific case mix: a patient is kept with a probability that depends on
age and sex, so sites differ in size, age and sex distribution (and hence in event counts), while the
planted exposure effects stay the same everywhere. The last site is small (about 6% of the patients),
so that suppression of small counts matters there.

Layout::

    OUT/network.json            sites, sizes, seeds and case-mix parameters
    OUT/<site>/patients.parquet, stays.parquet, diagnoses.parquet, truth.json (generator truth + thinning)
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cohortstat.errors import ReportError

#: per site: share of the patients, log-odds slope of keeping per 10 years of age over 60, log-odds of
#: keeping a woman vs a man
CASE_MIX = (
    {"name": "site_a", "share": 0.38, "age_slope": 0.35, "female": 0.0},   # older catchment
    {"name": "site_b", "share": 0.30, "age_slope": -0.30, "female": 0.2},  # younger, more women
    {"name": "site_c", "share": 0.26, "age_slope": 0.0, "female": -0.5},   # more men (trauma centre)
    {"name": "site_d", "share": 0.06, "age_slope": 0.15, "female": 0.0},   # small hospital
)
REFERENCE_YEAR = 2013


def site_plan(n_sites: int, patients: int, seed: int) -> list[dict]:
    """Name, target size, seed and case mix of each site (a pure function of the arguments)."""
    if not 2 <= n_sites <= 26:
        raise ReportError(f"--sites must be between 2 and 26, got {n_sites}")
    plan = []
    for i in range(n_sites):
        base = dict(CASE_MIX[i]) if i < len(CASE_MIX) else {
            "name": f"site_{chr(ord('a') + i)}", "share": 0.2, "age_slope": 0.1 * ((i % 5) - 2), "female": 0.0}
        if i == n_sites - 1:
            base.update(share=0.06)  # the last site is the small one
        plan.append(base)
    total = sum(p["share"] for p in plan)
    for i, p in enumerate(plan):
        p["patients"] = max(200, int(round(patients * p["share"] / total)))
        p["seed"] = int(np.random.SeedSequence([int(seed), 0x517E, i]).generate_state(1)[0] % (2**31))
    return plan


def _keep_probability(birth_year: np.ndarray, sex: np.ndarray, mix: dict) -> np.ndarray:
    age10 = (REFERENCE_YEAR - birth_year - 60.0) / 10.0
    logit = mix["age_slope"] * np.nan_to_num(age10) + mix["female"] * (sex == 2)
    p = 1.0 / (1.0 + np.exp(-logit))
    return p / p.max()


def _thin(src: Path, dst: Path, mix: dict) -> dict:
    """Keep each patient of ``src`` with the case-mix probability; copy their stays and diagnoses."""
    patients = pq.read_table(src / "patients.parquet")
    rng = np.random.default_rng(mix["seed"] + 1)
    prob = _keep_probability(patients["birth_year"].to_numpy(zero_copy_only=False).astype(float),
                             patients["sex"].to_numpy(zero_copy_only=False), mix)
    keep = rng.random(len(prob)) < prob
    patients = patients.filter(pa.array(keep))
    stays = pq.read_table(src / "stays.parquet")
    stays = stays.filter(pc.is_in(stays["patient_id"], value_set=patients["patient_id"]))
    diagnoses = pq.read_table(src / "diagnoses.parquet")
    diagnoses = diagnoses.filter(pc.is_in(diagnoses["stay_id"], value_set=stays["stay_id"]))
    for name, table in (("patients", patients), ("stays", stays), ("diagnoses", diagnoses)):
        pq.write_table(table, dst / f"{name}.parquet", compression="zstd")
    return {"rows_patients": len(patients), "rows_stays": len(stays), "rows_diagnoses": len(diagnoses)}


def generate_network(n_sites: int, patients: int, seed: int, out) -> list[dict]:
    """Write one data folder per site under ``out`` (see the module docstring); returns the plan."""
    from cohortstat.data.synth import generate

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plan = site_plan(n_sites, patients, seed)
    for mix in plan:
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            # draw enough patients for the expected thinning, then thin
            pilot = generate(max(200, mix["patients"] // 4), mix["seed"], Path(tmp) / "pilot")
            pt = pq.read_table(pilot / "patients.parquet")
            rate = float(_keep_probability(pt["birth_year"].to_numpy(zero_copy_only=False).astype(float),
                                           pt["sex"].to_numpy(zero_copy_only=False), mix).mean())
            src = generate(int(np.ceil(mix["patients"] / rate)), mix["seed"], Path(tmp) / "full")
            dst = out / mix["name"]
            if dst.exists():
                shutil.rmtree(dst)
            dst.mkdir()
            counts = _thin(src, dst, mix)
            truth = json.loads((src / "truth.json").read_text(encoding="utf-8"))
        truth["site"] = {"name": mix["name"], "case_mix": {k: mix[k] for k in ("age_slope", "female")},
                         "kept": counts, "note": "patients of the generator thinned by the site's case mix; "
                         "the generator counts above are before thinning"}
        (dst / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        mix["kept"] = counts
    (out / "network.json").write_text(json.dumps({"seed": seed, "patients": patients, "sites": plan}, indent=2,
                                                 sort_keys=True) + "\n", encoding="utf-8")
    return plan
