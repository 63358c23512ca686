"""Benchmark: propensity score and matching at national scale, and R MatchIt on a subsample.

Synthetic cohort of --n persons (default 3.9 M, 681 k exposed) with 23 covariates (age, sex, calendar
year, Charlson score, 17 Charlson components, 2 flags). Times, on the same data in the same run:

- cohortstat ``propensity_score`` (statsmodels Logit, Newton) on all rows;
- cohortstat ``match`` 1:1 within 0.2 SD of the logit: closest-first (default), largest-first, and with
  exact strata (sex x 5-year age band x calendar year); 1:3 closest-first;
- R MatchIt ``method="nearest"`` (``m.order="largest"``, the same absolute caliper, the same scores) on a
  random subsample of --peer-n persons, compared pair by pair with cohortstat ``order="largest"``
  (skipped when R or MatchIt is missing).

Peak resident memory of this process is read after each step. Usage::

    PYTHONPATH=. python benchmarks/bench_matching.py [--n 3900000] [--exposed 681000] [--peer-n 100000]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cohortstat.confounding import adjust_for_confounding
from cohortstat.models.matching import match
from cohortstat.analysis.balance import balance_table
from cohortstat.models.weighting import propensity_score


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def synth(n: int, n_exposed: int, seed: int) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 96, n).astype(np.int16)
    female = (rng.random(n) < 0.5).astype(np.int8)
    year = rng.integers(2010, 2017, n).astype(np.int16)
    comp = {}
    for k in range(17):
        p = 0.02 + 0.1 * (age - 18) / 78 * (1 + k % 3) / 3
        comp[f"cci_{k:02d}"] = (rng.random(n) < p).astype(np.int8)
    # the score adds points the 17 components do not show (so it is not their exact linear combination)
    charlson = (
        np.sum([v * (1 + (i % 3)) for i, v in enumerate(comp.values())], axis=0) + rng.poisson(0.3, n)
    ).astype(np.int16)
    tobacco = (rng.random(n) < 0.25).astype(np.int8)
    alcohol = (rng.random(n) < 0.1).astype(np.int8)
    lp = 0.03 * (age - 55) + 0.15 * charlson + 0.5 * tobacco + 0.3 * alcohol - 0.1 * female
    # intercept chosen so that about n_exposed persons are exposed
    lo, hi = -10.0, 10.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(lp + mid)))).sum() > n_exposed:
            hi = mid
        else:
            lo = mid
    exposure = (rng.random(n) < 1 / (1 + np.exp(-(lp + lo)))).astype(np.int8)
    df = pd.DataFrame(
        {
            "person_key": rng.permutation(np.arange(10 * n, dtype=np.int64))[:n],
            "exposure": exposure,
            "age": age,
            "female": female,
            "calendar_year": year,
            "charlson": charlson,
            **comp,
            "tobacco": tobacco,
            "alcohol": alcohol,
        }
    )
    covs = [c for c in df.columns if c not in ("person_key", "exposure")]
    return df, covs


def study_table(df: pd.DataFrame) -> pd.DataFrame:
    """The benchmark data as a cohort analysis table: string person keys, group names, sex 1/2."""
    t = df.drop(columns=["lps", "age_band", "female"]).rename(
        columns={f"cci_{k:02d}": f"comp_{k:02d}" for k in range(17)}
    )
    t["person_key"] = "P" + df["person_key"].astype(str)
    t["group"] = np.where(df["exposure"] == 1, "sepsis", "trauma")
    t["sex"] = (1 + df["female"]).astype(np.int8)
    return t


def bench_study(covs):
    """The shipped study with the benchmark's 19 0/1 columns declared as flags, matching 1:1."""
    import yaml

    from cohortstat.spec import load_study

    path = Path(__file__).resolve().parents[1] / "studies" / "sepsis_cancer.yaml"
    data = yaml.safe_load(path.read_text())
    roles = ["principal", "related", "associated"]
    names = [f"comp_{k:02d}" for k in range(17)] + ["tobacco", "alcohol"]
    data["covariates"]["flags"] = [
        {"name": n, "concept_set": "tobacco", "lookback_days": 730, "roles": list(roles)} for n in names
    ]
    data["analyses"]["confounding"] = {"method": "matching", "ratio": 1, "caliper_sd": 0.2}
    return load_study(yaml.safe_dump(data, sort_keys=False))


R_SCRIPT = r"""
suppressPackageStartupMessages(library(MatchIt))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
cal <- as.numeric(args[2])
t0 <- proc.time()[["elapsed"]]
m <- matchit(exposure ~ 1, data = d, distance = d$lps, method = "nearest", m.order = "largest",
             caliper = cal, std.caliper = FALSE, replace = FALSE, ratio = 1)
el <- proc.time()[["elapsed"]] - t0
mm <- m$match.matrix
tr <- d$person_key[as.integer(rownames(mm))]
co <- ifelse(is.na(mm[, 1]), NA, d$person_key[as.integer(mm[, 1])])
write.csv(data.frame(treated = tr, control = co), args[3], row.names = FALSE)
cat(sprintf("%.3f\n", el))
cat(as.character(packageVersion("MatchIt")), "\n")
"""


def run_matchit(sub: pd.DataFrame, caliper: float):
    if shutil.which("Rscript") is None:
        return None
    ok = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('MatchIt', quietly = TRUE))"], capture_output=True
    )
    if ok.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sub = sub.reset_index(drop=True)
        sub.to_csv(tmp / "d.csv", index=False)
        (tmp / "m.R").write_text(R_SCRIPT)
        t0 = time.perf_counter()
        out = subprocess.run(
            ["Rscript", str(tmp / "m.R"), str(tmp / "d.csv"), repr(caliper), str(tmp / "pairs.csv")],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - t0
        lines = out.stdout.split()
        pairs = pd.read_csv(tmp / "pairs.csv").dropna()
    return float(lines[0]), wall, lines[1], pairs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3_900_000)
    ap.add_argument("--exposed", type=int, default=681_000)
    ap.add_argument("--peer-n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rows = []

    def step(name, fn):
        t0 = time.perf_counter()
        out = fn()
        rows.append((name, time.perf_counter() - t0, peak_rss_gib()))
        return out

    df, covs = step("synthetic data (not counted)", lambda: synth(args.n, args.exposed, args.seed))
    print(f"{len(df):,} persons, {int(df['exposure'].sum()):,} exposed, {len(covs)} covariates")
    ps = step("cohortstat propensity_score (statsmodels Logit)", lambda: propensity_score(
        df, treatment="exposure", covariates=covs))
    df["lps"] = ps.logit_ps
    df["age_band"] = df["age"] // 5
    m1 = step("cohortstat match 1:1 closest-first, caliper 0.2 SD", lambda: match(
        df, treatment="exposure", score="lps"))
    m2 = step("cohortstat match 1:1 largest-first, caliper 0.2 SD", lambda: match(
        df, treatment="exposure", score="lps", order="largest"))
    m3 = step("cohortstat match 1:1 closest, exact sex x age band x year", lambda: match(
        df, treatment="exposure", score="lps", exact=("female", "age_band", "calendar_year")))
    m4 = step("cohortstat match 1:3 closest-first, caliper 0.2 SD", lambda: match(
        df, treatment="exposure", score="lps", ratio=3))
    bal = step("cohortstat balance_table (matched 1:1)", lambda: balance_table(
        df[m1.matched], exposure="exposure", covariates=covs))
    table = study_table(df)
    study = bench_study(covs)
    conf = step("cohortstat adjust_for_confounding (whole study step, 1:1)", lambda: adjust_for_confounding(
        table, study))
    del table

    print()
    print(f"{'step':<62} {'seconds':>9} {'peak RSS GiB':>13}")
    for name, sec, rss in rows:
        print(f"{name:<62} {sec:>9.2f} {rss:>13.2f}")
    print()
    smd_after = conf.balance["smd_after"].abs().max()
    print(f"study step: {conf.attrition_rows[0]}; max |SMD| after {smd_after:.3f}")
    for label, m in (("closest 1:1", m1), ("largest 1:1", m2), ("exact+closest 1:1", m3), ("closest 1:3", m4)):
        c = m.counts()
        print(f"{label:<20} matched treated {c.n_matched[0]:>9,} / {c.n_total[0]:,}; matched controls "
              f"{c.n_matched[1]:>9,}")
    smd_before = balance_table(df, exposure="exposure", covariates=covs)["smd"].abs().max()
    print(f"max |SMD| before {smd_before:.3f}, after closest 1:1 {bal['smd'].abs().max():.3f}")

    # peer: R MatchIt on a subsample, same scores and absolute caliper, largest-first
    rng = np.random.default_rng(args.seed + 1)
    sub = df.iloc[np.sort(rng.choice(len(df), size=min(args.peer_n, len(df)), replace=False))][
        ["person_key", "exposure", "lps"]
    ]
    t0 = time.perf_counter()
    ms = match(sub, treatment="exposure", score="lps", order="largest")
    ours = time.perf_counter() - t0
    res = run_matchit(sub, ms.caliper)
    print()
    if res is None:
        print("R MatchIt not available: peer skipped")
        return
    r_el, r_wall, r_ver, r_pairs = res
    keys = sub["person_key"].to_numpy()
    sets = ms.matched_set
    tmask = (sub["exposure"].to_numpy() == 1) & (sets >= 0)
    cmask = (sub["exposure"].to_numpy() == 0) & (sets >= 0)
    ctrl_of_set = dict(zip(sets[cmask], keys[cmask]))
    our_pairs = {int(k): int(ctrl_of_set[s]) for k, s in zip(keys[tmask], sets[tmask])}
    theirs = {int(a): int(b) for a, b in zip(r_pairs["treated"], r_pairs["control"])}
    same = sum(1 for k, v in theirs.items() if our_pairs.get(k) == v)
    print(f"peer subsample: {len(sub):,} persons, {int(sub['exposure'].sum()):,} exposed")
    print(f"{'tool':<44} {'seconds':>9} {'matched treated':>16}")
    print(f"{'cohortstat match (largest-first)':<44} {ours:>9.2f} {len(our_pairs):>16,}")
    print(f"{'R MatchIt ' + r_ver + ' nearest (in R; Rscript wall)':<44} {r_el:>9.2f} {len(theirs):>16,}"
          f"   (wall incl. R start and CSV: {r_wall:.1f} s)")
    print(f"identical pairs: {same:,} of {len(theirs):,} MatchIt pairs")


if __name__ == "__main__":
    main()
