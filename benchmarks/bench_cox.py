"""Benchmark: cohortstat CoxPH against lifelines, statsmodels and R coxph on one synthetic file.

Usage: PYTHONPATH=. python benchmarks/bench_cox.py [--sizes 100000 1000000] [--peers lifelines statsmodels R]
       [--repeat 3] [--rss-size 4000000] [--warm-memory-gb 16] [--out /tmp/cohortstat_bench_cox]

One data set per size (seeded): 19 numeric/binary covariates + one 4-level factor (22 model
terms), integer day times (heavy ties), ~5% events of interest and ~15% competing deaths
(modelled as censored: cause-specific hazard). Every tool fits Efron ties on the same data in the
same run; fit time only (data already in memory).

Inputs: lifelines and statsmodels take numeric columns only, so the factor is dummy-coded once
(outside every clock) and cohortstat is timed on that same numeric frame ("cohortstat"); it is
also timed on the frame with the string factor column, dummy coding inside its fit ("cohortstat,
factor column"). R reads the CSV with the factor (model.matrix inside coxph, inside R's clock).

Repeats are interleaved (round 1: every tool once, round 2: every tool once, ...) so that a
drifting machine affects every tool alike; the table gives the median and the minimum, and the
ratios are of medians. ``--warm-memory-gb`` first touches that much memory once: on a virtual
machine whose memory was never used, the first touch of each page costs ~10x a later one, and
without the warm-up whichever tool allocates first pays for it.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

NUM = [f"x{j}" for j in range(1, 20)]
COVS = NUM + ["region"]
DUMMIES = [f"region[{lev}]" for lev in ("B", "C", "D")]


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


def numeric_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The numeric frame every Python tool gets: dummies of the factor, status = cause 1."""
    X = df[["time"] + NUM].copy()
    X["status"] = (df["event"] == 1).astype(int)
    for lev, name in zip(("B", "C", "D"), DUMMIES):
        X[name] = (df["region"] == lev).astype(float)
    return X


def fit_cohortstat(num: pd.DataFrame):
    from cohortstat.models.cox import CoxPH

    res = CoxPH(ties="efron").fit(num, "time", "status", NUM + DUMMIES)
    return res.coef.to_numpy(), res.loglik


def fit_cohortstat_factor(df: pd.DataFrame):
    from cohortstat.models.cox import CoxPH

    res = CoxPH(ties="efron").fit(df, "time", "event", COVS)
    return res.coef.to_numpy(), res.loglik


def fit_lifelines(num: pd.DataFrame):
    from lifelines import CoxPHFitter

    cph = CoxPHFitter().fit(num, duration_col="time", event_col="status")
    return cph.params_.to_numpy(), cph.log_likelihood_


def fit_statsmodels(num: pd.DataFrame):
    from statsmodels.duration.hazard_regression import PHReg

    r = PHReg(num["time"].to_numpy(float), num[NUM + DUMMIES].to_numpy(), status=num["status"].to_numpy(),
              ties="efron").fit()
    return np.asarray(r.params), r.llf


R_SCRIPT = r"""
suppressMessages(library(survival)); args <- commandArgs(TRUE)
d <- read.csv(args[1]); d$region <- factor(d$region)
f <- as.formula(paste("Surv(time, event == 1) ~", paste(c(sprintf("x%d", 1:19), "region"), collapse = " + ")))
times <- c()
for (i in seq_len(as.integer(args[2]))) {
  times <- c(times, system.time(fit <- coxph(f, data = d, ties = "efron"))[["elapsed"]])
}
cat(jsonlite::toJSON(list(times = times, coef = unname(coef(fit)), loglik = fit$loglik[2], iter = fit$iter,
    version = as.character(packageVersion("survival")), R = R.version.string), digits = NA, auto_unbox = FALSE))
"""


def run_r(csv: Path, repeat: int, workdir: Path) -> dict:
    script = workdir / "fit.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(["Rscript", str(script), str(csv), str(repeat)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# Peak RSS from /proc/self/status VmHWM: getrusage's ru_maxrss of a child started by fork + exec
# carries the parent's high-water mark (here: the memory warm-up), VmHWM is the child's own.
RSS_CHILD = r"""
import sys, time
import pandas as pd
sys.path.insert(0, sys.argv[2])
from cohortstat.models.cox import CoxPH
df = pd.read_parquet(sys.argv[1])
CoxPH(ties="efron").fit(df.head(2000), "time", "event", %r)  # load the compiled kernels
t0 = time.perf_counter()
res = CoxPH(ties="efron").fit(df, "time", "event", %r)
secs = time.perf_counter() - t0
hwm_kb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(secs, hwm_kb / 1024**2, res.iterations)
""" % (COVS, COVS)


def warm_memory(gb: float) -> None:
    if gb > 0:
        t0 = time.perf_counter()
        block = np.ones(int(gb * 2**30 / 8))
        del block
        print(f"touched {gb:g} GB of memory once in {time.perf_counter() - t0:.1f} s", flush=True)


def versions() -> str:
    import lifelines
    import numba
    import scipy
    import statsmodels

    return (f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
            f"numba {numba.__version__}, pandas {pd.__version__}, lifelines {lifelines.__version__}, "
            f"statsmodels {statsmodels.__version__}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--peers", nargs="*", default=["lifelines", "statsmodels", "R"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rss-size", type=int, default=0,
                    help="also fit this size alone in a subprocess and report peak RSS")
    ap.add_argument("--warm-memory-gb", type=float, default=0.0)
    ap.add_argument("--out", default="/tmp/cohortstat_bench_cox")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(versions(), flush=True)
    warm_memory(args.warm_memory_gb)
    fit_cohortstat(numeric_frame(make_data(2000)))  # compiled kernels loaded before any clock
    rows = []
    for n in args.sizes:
        df = make_data(n)
        csv = out / f"cox_{n}.csv"
        df.to_csv(csv, index=False)
        df = pd.read_csv(csv)  # every tool reads the same file
        num = numeric_frame(df)
        print(f"n={n}: events {int((df.event == 1).sum())} ({(df.event == 1).mean():.1%}), "
              f"competing {(df.event == 2).mean():.1%}, distinct times {df.time.nunique()}", flush=True)
        tools = {"cohortstat": (fit_cohortstat, num), "cohortstat, factor column": (fit_cohortstat_factor, df)}
        for peer, fn in (("lifelines", fit_lifelines), ("statsmodels", fit_statsmodels)):
            if peer in args.peers:
                tools[peer] = (fn, num)
        times = {name: [] for name in tools}
        coefs = {}
        for _ in range(args.repeat):
            for name, (fn, data) in tools.items():
                t0 = time.perf_counter()
                coefs[name], _ = fn(data)
                times[name].append(time.perf_counter() - t0)
        if "R" in args.peers and shutil.which("Rscript"):
            r = run_r(csv, args.repeat, out)
            times["R coxph"] = list(r["times"])
            coefs["R coxph"] = np.asarray(r["coef"], float)
            print(f"  R: {r['R'][0]}, survival {r['version'][0]}, {r['iter'][0]} iterations", flush=True)
        ref_name = "R coxph" if "R coxph" in coefs else "cohortstat"
        ref = coefs[ref_name]
        base = float(np.median(times["cohortstat"]))
        for name, ts in times.items():
            med = float(np.median(ts))
            rel = float(np.max(np.abs(coefs[name] - ref) / np.maximum(np.abs(ref), 1e-12)))
            rows.append(dict(n=n, tool=name, median_s=med, min_s=float(np.min(ts)), runs=len(ts),
                             ratio_to_cohortstat=med / base, max_rel_coef_diff=rel, vs=ref_name))
            print(f"  {name:28s} median {med:8.3f}s  min {np.min(ts):8.3f}s  x{med / base:6.1f}  "
                  f"max rel. coef diff vs {ref_name} {rel:.1e}", flush=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
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
        print(f"\ncohortstat n={n} x {len(COVS)} covariates (factor column): fit {float(secs):.2f}s, {iters} "
              f"iterations, peak RSS of the process (read parquet + fit) {float(rss_gb):.2f} GB")


if __name__ == "__main__":
    main()
