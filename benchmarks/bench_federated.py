"""Benchmark: federated site-stratified Cox over K sites against one stratified fit on their union.

Usage: PYTHONPATH=. python benchmarks/bench_federated.py [--sites 4] [--n 1000000] [--repeat 3]

Data (seeded): per site n patients, 20 covariates (15 normal, 5 binary), integer day times 1-365
(heavy ties), a site-specific baseline hazard and covariate means (case mix). Both fits use Efron
ties, same data, data already in memory:

- union: ``CoxPH(ties="efron").fit(union, ..., strata="site")`` on the concatenated frame;
- federated: each site builds its evaluator from its own frame (``CoxSite``: design, risk sets), then
  the coordinator's Newton rounds (``federated_cox``) ask every site in turn - on one machine, so the
  sites run one after the other (a real network runs them in parallel).

Repeats are interleaved; medians and minima are printed, with the ratio federated / union.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

COVS = [f"x{j}" for j in range(1, 21)]


def make_site(n: int, site: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng([seed, site])
    beta = np.random.default_rng(seed).uniform(-0.3, 0.3, len(COVS))
    cols, lp = {}, np.zeros(n)
    for j, name in enumerate(COVS):
        x = rng.normal(0.1 * site, 1.0, n) if j < 15 else rng.binomial(1, 0.2 + 0.05 * site, n).astype(float)
        cols[name] = np.round(x, 4)
        lp += beta[j] * cols[name]
    t1 = rng.exponential(1.0 / (0.0002 * (1 + 0.3 * site) * np.exp(lp)))
    cens = rng.uniform(1, 365, n)
    t = np.minimum(t1, cens)
    return pd.DataFrame({"site": f"s{site}", "time": np.maximum(1, np.ceil(t)).astype(np.int64),
                         "event": (t1 <= cens).astype(np.int64), **cols})


def fit_union(union: pd.DataFrame):
    from cohortstat.models.cox import CoxPH

    res = CoxPH(ties="efron").fit(union, "time", "event", COVS, strata="site")
    return res.coef.to_numpy(), res.loglik


def fit_federated(sites: list[pd.DataFrame]):
    from cohortstat.sites.federated import CoxSite, federated_cox, summed

    t0 = time.perf_counter()
    evals = [CoxSite(s, "time", "event", COVS, COVS).evaluate for s in sites]
    setup = time.perf_counter() - t0
    fit = federated_cox(summed(evals), COVS)
    return fit.coef, fit.loglik, setup, fit.rounds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=4)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    sites = [make_site(a.n, s) for s in range(a.sites)]
    union = pd.concat(sites, ignore_index=True)
    print(f"{a.sites} sites x {a.n:,} rows, {len(COVS)} covariates, events {int(union['event'].sum()):,}")
    fit_union(union.iloc[:20000])  # compile / warm the kernels outside the clock
    tu, tf, ts = [], [], []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        cu, llu = fit_union(union)
        tu.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        cf, llf, setup, rounds = fit_federated(sites)
        tf.append(time.perf_counter() - t0)
        ts.append(setup)
    rel = float(np.max(np.abs(cf - cu) / np.maximum(np.abs(cu), 1e-12)))
    print(f"union stratified fit : median {np.median(tu):.2f} s, min {np.min(tu):.2f} s")
    print(f"federated ({rounds} rounds): median {np.median(tf):.2f} s, min {np.min(tf):.2f} s "
          f"(site setup {np.median(ts):.2f} s)")
    print(f"ratio federated / union (medians): {np.median(tf) / np.median(tu):.2f}")
    print(f"max relative coefficient difference {rel:.1e}; loglik difference {abs(llf - llu):.1e}")


if __name__ == "__main__":
    main()
