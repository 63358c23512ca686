"""Benchmark: synthetic data generation at national scale and the data checks on it.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_synth.py [--patients 3900000] [--seed 1] [--out DIR]

Each stage runs in its own child process so that its peak resident memory is measured alone
(``getrusage(RUSAGE_CHILDREN)`` after the child exits). Prints a table: stage, wall seconds, peak RSS,
rows. Targets (issue 3): 3.9 M patients in <= 3 min with peak RSS <= 8 GB; checks <= 1 min.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _stage(name: str, patients: int, seed: int, out: Path) -> None:
    t0 = time.perf_counter()
    if name == "synth":
        from cohortstat.data.synth import generate

        generate(patients, seed, out)
        counts = json.loads((out / "truth.json").read_text())["counts"]
        rows = {k: v for k, v in counts.items() if k.startswith("rows_")}
    else:
        from cohortstat.data.checks import check_data

        rep = check_data(out)
        rows = {"anomalies": len(rep.anomalies)}
    print(json.dumps({"seconds": time.perf_counter() - t0, "rows": rows}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=3_900_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--stage", choices=["synth", "check"], default=None)
    a = ap.parse_args()
    if a.stage:
        _stage(a.stage, a.patients, a.seed, a.out)
        return
    out = a.out or Path(tempfile.mkdtemp(prefix="bench_synth_"))
    results = []
    for stage in ("synth", "check"):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--stage", stage, "--patients", str(a.patients),
                               "--seed", str(a.seed), "--out", str(out)], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
        # RUSAGE_CHILDREN reports the largest child so far: valid per stage when it grows
        peak = f"{peak_kb / 1024**2:.2f} GB" if peak_kb > before else f"<= {before / 1024**2:.2f} GB"
        results.append((stage, doc["seconds"], wall, peak, doc["rows"]))
    sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    print(f"patients={a.patients} seed={a.seed} out={out}")
    print(f"{'stage':8} {'inner s':>8} {'process s':>10} {'peak RSS':>12}  rows")
    for stage, inner, wall, peak, rows in results:
        print(f"{stage:8} {inner:8.1f} {wall:10.1f} {peak:>12}  {rows}")
    print("file sizes (MB): " + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
