"""The reference study end to end on synthetic data: time per step and peak RSS.

    PYTHONPATH=. python benchmarks/bench_study.py --patients 3900000 --seed 1 [--data DIR] [--engine duckdb]

Generates the data (not timed in the total) unless --data points at an existing folder, then runs
``cohortstat.run.run`` on studies/sepsis_cancer.yaml, prints the time of each step (from run.log), the
total, the peak resident memory of this process (resource.getrusage; children included), and whether
each planted exposure effect of truth.json falls inside the reported 95% CI of the adjusted Cox model.
Targets (issue 7): total <= 10 min on 2 cores, peak RSS <= 12 GB.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=3_900_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--keep", action="store_true", help="keep the generated data and the report")
    args = ap.parse_args()

    from cohortstat.run import run

    work = Path(tempfile.mkdtemp(prefix="bench_study_"))
    data = args.data
    if data is None:
        from cohortstat.data.synth import generate

        t0 = time.perf_counter()
        data = generate(args.patients, args.seed, work / "data")
        print(f"data generation (not in the total): {time.perf_counter() - t0:.1f} s")
    out = work / "out"
    t0 = time.perf_counter()
    run(ROOT / "studies" / "sepsis_cancer.yaml", data, out, engine=args.engine)
    total = time.perf_counter() - t0
    peak_gb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024**2
    print(f"\n{'step':<32}{'seconds':>10}")
    for line in (out / "run.log").read_text().splitlines():
        m = re.match(r"step (.+): ([\d.]+)s", line)
        if m:
            print(f"{m.group(1):<32}{float(m.group(2)):>10.2f}")
    print(f"{'TOTAL (run, excl. generation)':<32}{total:>10.2f}")
    print(f"peak RSS: {peak_gb:.2f} GB   patients: {args.patients:,}   engine: {args.engine}")
    truth_path = Path(data) / "truth.json"
    if truth_path.is_file():
        planted = json.loads(truth_path.read_text())["planted"]["outcomes"]
        res = json.loads((out / "results.json").read_text())
        print(f"\n{'outcome':<14}{'planted HR':>11}{'adj. Cox HR (95% CI)':>28}  inside")
        for name, o in res["outcomes"].items():
            if name not in planted:
                continue
            r = next((r for r in o["models"] if r["model"] == "cox_adjusted" and r["term"] == "exposure"), None)
            if r is None:
                continue
            hr = math.exp(planted[name]["exposure"])
            inside = r["ci_lower"] <= hr <= r["ci_upper"]
            print(f"{name:<14}{hr:>11.3f}{r['hr']:>10.3f} ({r['ci_lower']:.3f} to {r['ci_upper']:.3f})  {inside}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept in {work}")


if __name__ == "__main__":
    main()
