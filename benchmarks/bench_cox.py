"""Benchmark: cohortstat CoxPH against lifelines, statsmodels and R coxph on one synthetic file.

Usage: PYTHONPATH=. python benchmarks/bench_cox.py [--sizes 100000 1000000] [--peers lifelines statsmodels R]
       [--rss-size 4000000] [--out /tmp/cohortstat_bench_cox]

One data set per size (seeded): 19 numeric/binary covariates + one 4-level factor (22 model
terms), integer day times (heavy ties), ~5% events of interest and ~15% competing deaths
(modelled as censored: cause-specific hazard). Every tool fits Efron ties on the same CSV/parquet
file in the same run; fit time only (data already in memory), best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

NUM = [f"x{j}" for j in range(1, 20)]
COVS = NUM + ["region"]


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    beta = rng.uniform(-0.3, 0.3, len(NUM))
    lp = np.zeros(n)
    for j, name in enumerate(NUM):
        x = rng.normal(size=n) if j < 15 else rng.binomial(1, 0.3, n).astype(float)
        cols[name] = np.round(x, 4)
        lp += beta[j] * cols[name]
    region = rng.choice(np.array(["A", "B", "C", "D"]), n)
    lp += np.select([region == "B", region == "C", region == "D"], [0.2, -0.3, 0.5], 0.0)
    t1 = rng.exponential(1.0 / (0.00022 * np.exp(lp)))
    t2 = rng.exponential(1.0 / 0.0009, n)
    cens = rng.uniform(1, 365, n)
    t = np.minimum(np.minimum(t1, t2), cens)
    event = np.where(t == t1, 1, np.where(t == t2, 2, 0))
    df = pd.DataFrame({"time": np.maximum(1, np.ceil(t)).astype(np.int64), "event": event, **cols, "region": region})
    return df


def time_cohortstat(df, repeat):
    from cohortstat.models.cox import CoxPH

    best, res = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = CoxPH(ties="efron").fit(df, "time", "event", COVS)
        best = min(best, time.perf_counter() - t0)
    return best, res.coef.to_numpy(), res.loglik


def _dummies(df):
    X = df[["time"] + NUM].copy()
    X["status"] = (df["event"] == 1).astype(int)
    for lev in ("B", "C", "D"):
        X[f"region[{lev}]"] = (df["region"] == lev).astype(float)
    return X


def time_lifelines(df, repeat):
    from lifelines import CoxPHFitter

    X = _dummies(df)
    best, cph = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        cph = CoxPHFitter().fit(X, duration_col="time", event_col="status")
        best = min(best, time.perf_counter() - t0)
    return best, cph.params_.to_numpy(), cph.log_likelihood_


def time_statsmodels(df, repeat):
    from statsmodels.duration.hazard_regression import PHReg

    X = _dummies(df)
    exog = X[NUM + ["region[B]", "region[C]", "region[D]"]].to_numpy()
    best, r = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = PHReg(X["time"].to_numpy(float), exog, status=X["status"].to_numpy(), ties="efron").fit()
        best = min(best, time.perf_counter() - t0)
    return best, np.asarray(r.params), r.llf


R_SCRIPT = r"""
suppressMessages(library(survival)); args <- commandArgs(TRUE)
d <- read.csv(args[1]); d$region <- factor(d$region)
f <- as.formula(paste("Surv(time, event == 1) ~", paste(c(sprintf("x%d", 1:19), "region"), collapse = " + ")))
best <- Inf
for (i in seq_len(as.integer(args[2]))) { tm <- system.time(fit <- coxph(f, data = d, ties = "efron"))[["elapsed"]]; best <- min(best, tm) }
cat(jsonlite::toJSON(list(time = best, coef = unname(coef(fit)), loglik = fit$loglik[2], version = as.character(packageVersion("survival"))), digits = NA, auto_unbox = TRUE))
"""


def time_r(csv, repeat, workdir):
    script = Path(workdir) / "fit.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(["Rscript", str(script), str(csv), str(repeat)], capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return res["time"], np.asarray(res["coef"]), res["loglik"]


RSS_CHILD = r"""
import resource, sys, time
import pandas as pd
sys.path.insert(0, sys.argv[2])
from cohortstat.models.cox import CoxPH
df = pd.read_parquet(sys.argv[1])
t0 = time.perf_counter()
res = CoxPH(ties="efron").fit(df, "time", "event", %r)
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, res.iterations)
""" % COVS


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--peers", nargs="*", default=["lifelines", "statsmodels", "R"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--rss-size", type=int, default=0, help="also fit this size alone in a subprocess and report peak RSS")
    ap.add_argument("--out", default="/tmp/cohortstat_bench_cox")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        df = make_data(n)
        csv = out / f"cox_{n}.csv"
        df.to_csv(csv, index=False)
        df.to_parquet(out / f"cox_{n}.parquet")
        df = pd.read_csv(csv)  # every tool reads the same file
        print(f"n={n}: events {int((df.event == 1).sum())} ({(df.event == 1).mean():.1%}), "
              f"competing {(df.event == 2).mean():.1%}, distinct times {df.time.nunique()}", flush=True)
        t_cs, b_cs, ll_cs = time_cohortstat(df, args.repeat)
        rows.append(dict(n=n, tool="cohortstat", seconds=t_cs, max_rel_coef_vs_cohortstat=0.0, loglik=ll_cs))
        print(f"  cohortstat {t_cs:.2f}s", flush=True)
        for peer in args.peers:
            try:
                if peer == "lifelines":
                    t, b, ll = time_lifelines(df, args.repeat)
                elif peer == "statsmodels":
                    t, b, ll = time_statsmodels(df, args.repeat)
                elif peer == "R":
                    if shutil.which("Rscript") is None:
                        continue
                    t, b, ll = time_r(csv, args.repeat, out)
                else:
                    continue
            except Exception as exc:  # a peer that fails is reported, not fatal
                print(f"  {peer} failed: {exc}", flush=True)
                continue
            rel = float(np.max(np.abs(b - b_cs) / np.maximum(np.abs(b), 1e-12)))
            rows.append(dict(n=n, tool=peer, seconds=t, max_rel_coef_vs_cohortstat=rel, loglik=ll))
            print(f"  {peer} {t:.2f}s  (max rel. coef diff vs cohortstat {rel:.1e})", flush=True)
    tab = pd.DataFrame(rows)
    tab["ratio_to_cohortstat"] = tab["seconds"] / tab.groupby("n")["seconds"].transform(
        lambda s: s[tab.loc[s.index, "tool"] == "cohortstat"].iloc[0])
    print()
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if args.rss_size:
        n = args.rss_size
        pq = out / f"cox_{n}.parquet"
        if not pq.exists():
            make_data(n).to_parquet(pq)
        child = out / "rss_child.py"
        child.write_text(RSS_CHILD)
        repo = str(Path(__file__).resolve().parents[1])
        res = subprocess.run([sys.executable, str(child), str(pq), repo], capture_output=True, text=True, check=True)
        secs, rss_gb, iters = res.stdout.split()
        print(f"\ncohortstat n={n} x {len(COVS)} covariates: fit {float(secs):.2f}s, {iters} iterations, "
              f"peak RSS of the process (read parquet + fit) {float(rss_gb):.2f} GB")


if __name__ == "__main__":
    main()
