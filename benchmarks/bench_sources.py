"""Cohort build time of the same synthetic population in the pmsi and SNDS layouts (DuckDB).

    PYTHONPATH=. python benchmarks/bench_sources.py --patients 200000 --seed 3 --repeat 2
    PYTHONPATH=. python benchmarks/bench_sources.py --pmsi DIR --snds DIR --repeat 2

Generates the population in both layouts (``cohortstat synth --layout``) under a scratch folder, or
takes two existing folders (``--pmsi``, ``--snds``: the same ``synth`` population and seed), then
builds the shipped study's cohort from each, alternating layouts, each build in a fresh process
(``benchmarks/bench_cohort.py``'s worker: wall time, step times, peak RSS), and prints one JSON line
per build (wall and CPU time: the CPU time, user + system of all threads, is
less sensitive to other jobs on the machine) with the 1-minute load average before and after it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cohort import run  # noqa: E402

STUDY = Path(__file__).resolve().parents[1] / "studies" / "sepsis_cancer.yaml"


def _builds(folders: dict[str, Path], patients, repeat: int, threads: int) -> None:
    walls: dict[str, list[float]] = {k: [] for k in folders}
    cpus: dict[str, list[float]] = {k: [] for k in folders}
    for _ in range(repeat):
        for layout, folder in folders.items():
            load0 = os.getloadavg()[0]
            r = run(STUDY, folder, "duckdb", threads)
            walls[layout].append(r["wall_s"])
            cpus[layout].append(r["cpu_s"])
            print(json.dumps({"stage": "build", "layout": layout, "patients": patients,
                              "s": round(r["wall_s"], 1), "cpu_s": round(r["cpu_s"], 1), "rows": r["rows"], "rss_gb": round(r["rss_gb"], 2),
                              "load": [round(load0, 1), round(os.getloadavg()[0], 1)],
                              "steps": r["steps"]}), flush=True)
    if set(walls) == {"pmsi", "snds"}:
        ratios = [s / p for p, s in zip(walls["pmsi"], walls["snds"])]
        cpu = [s / p for p, s in zip(cpus["pmsi"], cpus["snds"])]
        print(json.dumps({"stage": "ratio", "snds_over_pmsi_wall": [round(x, 2) for x in ratios],
                          "snds_over_pmsi_cpu": [round(x, 2) for x in cpu]}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pmsi", type=Path, help="existing pmsi-layout folder (with --snds)")
    ap.add_argument("--snds", type=Path, help="existing SNDS-layout folder of the same population")
    args = ap.parse_args()
    if args.pmsi or args.snds:
        folders = {k: v for k, v in (("pmsi", args.pmsi), ("snds", args.snds)) if v is not None}
        _builds(folders, None, args.repeat, args.threads)
        return
    from cohortstat.data.synth import generate

    with tempfile.TemporaryDirectory() as tmp:
        folders = {}
        for layout in ("pmsi", "snds"):
            t = time.perf_counter()
            folders[layout] = generate(args.patients, args.seed, Path(tmp) / layout, layout=layout)
            print(json.dumps({"stage": "generate", "layout": layout, "s": round(time.perf_counter() - t, 1)}))
        _builds(folders, args.patients, args.repeat, args.threads)


if __name__ == "__main__":
    main()
