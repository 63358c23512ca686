"""Benchmark: cohortstat FineGray vs R cmprsk::crr, R survival::finegray + coxph, and comprisk.

Both Python peers get one warm-up fit on tiny data before timing (compiled kernels loaded).
Same simulated data (20 covariates, integer day times with heavy ties, ~5% events of interest,
~15% competing deaths, the rest censored) and the same run for every peer; fit time only (data
already in memory / on disk as CSV for R, reading excluded from R's timing).

Peers:
- R ``cmprsk::crr`` (variance = TRUE) at n = 10k, 20k, 40k (needs Rscript with cmprsk);
- R ``survival::finegray`` + ``coxph(weights = fgwt, ties = "breslow", cluster = id)`` at 200k;
- comprisk ``FineGrayRegression`` (PyPI, benchmark-only peer; ``pip install comprisk``; not a
  cohortstat dependency) when it is importable.
cohortstat's large sizes (0.5M, 1M, 2M, 4M) run each in a child process so that peak RSS is per fit.
The data frame is built column by column (each column contiguous, as a frame read from parquet or
a database; a frame made from one 2-D array holds its columns strided, and every column read then
touches the whole array).

``--limit``: 1M x 20 with crr's variance, ``--repeat`` interleaved rounds of cohortstat (in this
process, kernels loaded by a warm-up fit) and comprisk (a child process per round, warm-up fit in it,
fit time only; ``--comprisk-python`` names an interpreter that has comprisk, e.g. a separate
environment: comprisk 0.8.0 pins numba < 0.66, which cohortstat's environment does not share),
medians and the median of the per-round ratios; then 4M x 20 in a child process (fit time, peak RSS
of the whole process including the data frame), ``--repeat`` times.

Benchmark-only requirements: R with cmprsk and survival (Rscript), comprisk 0.8.0 (PyPI).

Usage: PYTHONPATH=. python benchmarks/bench_finegray.py [--r-sizes 10000,20000,40000]
       [--big-sizes 500000,1000000,2000000,4000000] [--fg-size 200000] [--no-r] [--no-comprisk]
       PYTHONPATH=. python benchmarks/bench_finegray.py --limit [--repeat 5] [--comprisk-python PY]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

P = 20
COVS = [f"x{i}" for i in range(P)]
BETA = np.r_[0.4, -0.3, 0.2, np.zeros(P - 3)]


def simulate(n: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, P)).round(3)
    X[:, 1] = (X[:, 1] > 0.5).astype(float)
    t1 = rng.exponential(1.0 / (0.00005 * np.exp(X @ BETA)))
    t2 = rng.exponential(1.0 / (0.00016 * np.exp(0.2 * X[:, 0])))
    c = rng.uniform(1, 3 * 365, size=n)
    t = np.ceil(np.minimum.reduce([t1, t2, c]))
    ev = np.where(c <= np.minimum(t1, t2), 0, np.where(t1 < t2, 1, 2))
    cols = {"id": np.arange(1, n + 1), "time": t, "event": ev}
    cols.update({c: np.ascontiguousarray(X[:, j]) for j, c in enumerate(COVS)})
    return pd.DataFrame(cols)


_WARM: set[str] = set()


def warm_up(variance: str) -> float:
    """One fit on tiny data so that compiled (numba) kernels are loaded before timing; returns its time."""
    from cohortstat.models.finegray import FineGray

    if variance in _WARM:
        return 0.0
    _WARM.add(variance)
    t0 = time.perf_counter()
    FineGray(cause=1, variance=variance).fit(simulate(2000, seed=1), duration="time", event="event",
                                             covariates=COVS)
    return time.perf_counter() - t0


def fit_cohortstat(df: pd.DataFrame, variance: str = "crr"):
    from cohortstat.models.finegray import FineGray

    w = warm_up(variance)
    if w:
        print(f"(warm-up fit, first call incl. loading compiled kernels: {w:.2f} s)", flush=True)
    t0 = time.perf_counter()
    res = FineGray(cause=1, variance=variance).fit(df, duration="time", event="event", covariates=COVS)
    return time.perf_counter() - t0, res


R_CRR = r"""
suppressPackageStartupMessages({library(cmprsk); library(jsonlite)})
a <- commandArgs(TRUE); d <- read.csv(a[1]); X <- as.matrix(d[, grep("^x", names(d))])
el <- system.time(f <- crr(d$time, d$event, X, failcode = 1))[["elapsed"]]
write_json(list(seconds = el, coef = unname(f$coef), var = unname(f$var)), a[2], digits = NA, auto_unbox = TRUE)
"""

R_FG = r"""
suppressPackageStartupMessages({library(survival); library(jsonlite)})
a <- commandArgs(TRUE); d <- read.csv(a[1]); covs <- grep("^x", names(d), value = TRUE)
d$ev <- factor(d$event, 0:2, c("censor", "pcm", "death"))
fml <- as.formula(paste("Surv(fgstart, fgstop, fgstatus) ~", paste(covs, collapse = "+")))
el <- system.time({
  fg <- finegray(Surv(time, ev) ~ ., data = d[, c("id", "time", "ev", covs)], etype = "pcm")
  f <- coxph(fml, data = fg, weights = fgwt, ties = "breslow", cluster = id)
})[["elapsed"]]
write_json(list(seconds = el, coef = unname(coef(f)), robust_se = unname(sqrt(diag(f$var)))), a[2], digits = NA, auto_unbox = TRUE)
"""


def run_r(script: str, df: pd.DataFrame, tmp: Path, tag: str, timeout: float = 3600):
    csv, out, rfile = tmp / f"{tag}.csv", tmp / f"{tag}.json", tmp / f"{tag}.R"
    df.to_csv(csv, index=False)
    rfile.write_text(script)
    try:
        proc = subprocess.run(["Rscript", str(rfile), str(csv), str(out)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if proc.returncode != 0 or not out.exists():
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(out.read_text())


def fit_comprisk(df: pd.DataFrame):
    from comprisk import FineGrayRegression

    if "comprisk" not in _WARM:
        _WARM.add("comprisk")
        small = simulate(2000, seed=1)
        FineGrayRegression(cause=1).fit(small[COVS].to_numpy(), time=small["time"].to_numpy(),
                                        event=small["event"].to_numpy())
    t0 = time.perf_counter()
    m = FineGrayRegression(cause=1).fit(df[COVS].to_numpy(), time=df["time"].to_numpy(),
                                        event=df["event"].to_numpy())
    el = time.perf_counter() - t0
    coef = np.asarray(getattr(m, "coef_", np.full(P, np.nan)), dtype=float)
    return el, coef


COMPRISK_CHILD = r"""
import json, sys, time
import numpy as np
from comprisk import FineGrayRegression
a = np.load(sys.argv[1])
X, t, e = a["X"], a["time"], a["event"]
FineGrayRegression(cause=1).fit(X[:2000], time=t[:2000], event=e[:2000])
t0 = time.perf_counter()
m = FineGrayRegression(cause=1).fit(X, time=t, event=e)
el = time.perf_counter() - t0
print(json.dumps({"seconds": el, "coef": np.asarray(m.coef_, dtype=float).tolist()}))
"""


def comprisk_child(python: str, df: pd.DataFrame, tmp: Path):
    """comprisk's fit time (and coefficients) in a child process of ``python``."""
    f = tmp / "cp.npz"
    if not f.exists():
        np.savez(f, X=df[COVS].to_numpy(), time=df["time"].to_numpy(), event=df["event"].to_numpy())
    proc = subprocess.run([python, "-c", COMPRISK_CHILD, str(f)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"comprisk child failed: {proc.stderr[-500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def limit(repeat: int, python: str | None) -> None:
    """1M x 20 against comprisk (interleaved rounds), then 4M x 20 alone in child processes."""
    import os
    import statistics as st

    df = simulate(1_000_000)
    print(f"load average {os.getloadavg()}", flush=True)
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmpd:
        for i in range(repeat):
            el, res = fit_cohortstat(df)
            ours.append(el)
            row = {"round": i + 1, "cohortstat_s": round(el, 3), "iterations": res.iterations}
            if python:
                cp = comprisk_child(python, df, Path(tmpd))
                theirs.append(cp["seconds"])
                row.update(comprisk_s=round(cp["seconds"], 3), coef_rel=rel(cp["coef"], res.coef))
            print(row, flush=True)
    print(f"1M x 20: cohortstat median {st.median(ours):.3f} s (min {min(ours):.3f})", end="")
    if theirs:
        ratios = [b / a for a, b in zip(ours, theirs, strict=True)]
        print(f"; comprisk median {st.median(theirs):.3f} s; median ratio comprisk / cohortstat "
              f"{st.median(ratios):.2f}", end="")
    print(f"; load average {os.getloadavg()}", flush=True)
    del df
    big = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, __file__, "--worker", "4000000"], capture_output=True, text=True)
        w = json.loads(proc.stdout.strip().splitlines()[-1])
        big.append(w)
        print(w, flush=True)
    print(f"4M x 20: cohortstat median {st.median(w['seconds'] for w in big):.3f} s, peak RSS max "
          f"{max(w['rss_gb'] for w in big):.2f} GB; load average {os.getloadavg()}")


def worker(n: int) -> None:
    df = simulate(n)
    el, res = fit_cohortstat(df)
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"n": n, "seconds": el, "rss_gb": rss_gb, "iterations": res.iterations,
                      "coef0": float(res.coef.iloc[0])}))


def rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--r-sizes", default="10000,20000,40000")
    ap.add_argument("--big-sizes", default="500000,1000000,2000000,4000000")
    ap.add_argument("--fg-size", type=int, default=200000)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-comprisk", action="store_true")
    ap.add_argument("--worker", type=int, default=0)
    ap.add_argument("--limit", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--comprisk-python", default=None)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker)
        return
    if a.limit:
        limit(a.repeat, a.comprisk_python)
        return
    have_r = not a.no_r and shutil.which("Rscript") is not None
    try:
        import comprisk  # noqa: F401
        have_cp = not a.no_comprisk
    except ImportError:
        have_cp = False
    rows = []
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for n in [int(x) for x in a.r_sizes.split(",") if x]:
            df = simulate(n)
            el, res = fit_cohortstat(df)
            row = {"n": n, "peer": "cmprsk::crr", "cohortstat_s": el}
            if have_r:
                r = run_r(R_CRR, df, tmp, f"crr{n}")
                if "error" in r:
                    row["note"] = r["error"]
                else:
                    row.update(peer_s=r["seconds"], speedup=r["seconds"] / el,
                               coef_rel=rel(res.coef, r["coef"]),
                               var_rel=float(np.max(np.abs(res.var.to_numpy() - np.array(r["var"])))
                                             / np.max(np.abs(r["var"]))))
            rows.append(row)
            print(row, flush=True)
            if have_cp:
                el2, coef = fit_comprisk(df)
                row = {"n": n, "peer": "comprisk", "cohortstat_s": el, "peer_s": el2, "speedup": el2 / el,
                       "coef_rel": rel(coef, res.coef)}
                rows.append(row)
                print(row, flush=True)
        if a.fg_size:
            n = a.fg_size
            df = simulate(n)
            el, res = fit_cohortstat(df, variance="robust")
            row = {"n": n, "peer": "finegray+coxph", "cohortstat_s": el}
            if have_r:
                r = run_r(R_FG, df, tmp, f"fg{n}")
                if "error" in r:
                    row["note"] = r["error"]
                else:
                    row.update(peer_s=r["seconds"], speedup=r["seconds"] / el, coef_rel=rel(res.coef, r["coef"]),
                               se_rel=rel(res.robust_se, r["robust_se"]))
            rows.append(row)
            print(row, flush=True)
        for n in [int(x) for x in a.big_sizes.split(",") if x]:
            proc = subprocess.run([sys.executable, __file__, "--worker", str(n)], capture_output=True, text=True)
            if proc.returncode != 0:
                row = {"n": n, "peer": "(cohortstat alone)", "note": proc.stderr.strip()[-200:]}
            else:
                w = json.loads(proc.stdout.strip().splitlines()[-1])
                row = {"n": n, "peer": "(cohortstat alone)", "cohortstat_s": w["seconds"],
                       "rss_gb": w["rss_gb"], "us_per_row": 1e6 * w["seconds"] / n}
            rows.append(row)
            print(row, flush=True)
            if have_cp and n <= 1_000_000:
                df = simulate(n)
                el2, coef = fit_comprisk(df)
                row = {"n": n, "peer": "comprisk", "peer_s": el2, "cohortstat_s": rows[-1].get("cohortstat_s")}
                rows.append(row)
                print(row, flush=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
