"""Cohort build time of the same synthetic population in the pmsi and SNDS layouts (DuckDB).

    PYTHONPATH=. python benchmarks/bench_sources.py --patients 200000 --seed 3 --repeat 2

Generates the population in both layouts (``cohortstat synth --layout``) under a scratch folder, then
builds the shipped study's cohort from each, alternating layouts, and prints one JSON line per build.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from cohortstat.cohort import build_cohort
from cohortstat.data.synth import generate
from cohortstat.spec import load_study

STUDY = Path(__file__).resolve().parents[1] / "studies" / "sepsis_cancer.yaml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    study = load_study(STUDY)
    with tempfile.TemporaryDirectory() as tmp:
        folders = {}
        for layout in ("pmsi", "snds"):
            t = time.perf_counter()
            folders[layout] = generate(args.patients, args.seed, Path(tmp) / layout, layout=layout)
            print(json.dumps({"stage": "generate", "layout": layout, "s": round(time.perf_counter() - t, 1)}))
        for _ in range(args.repeat):
            for layout, folder in folders.items():
                t = time.perf_counter()
                c = build_cohort(study, data=folder, threads=args.threads)
                print(json.dumps({"stage": "build", "layout": layout, "patients": args.patients,
                                  "s": round(time.perf_counter() - t, 1), "rows": len(c.table)}), flush=True)


if __name__ == "__main__":
    main()
