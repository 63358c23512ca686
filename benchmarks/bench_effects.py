"""Subgroup and period models of the reference study: time of ``effect_modification`` within the analysis.

    PYTHONPATH=. python benchmarks/bench_effects.py --data DIR [--repeats 2] [--save effects.pkl]

Builds the cohort of studies/sepsis_cancer.yaml once from an existing data folder, then analyses it
``--repeats`` times (the first run also compiles the numerical kernels, or loads them from the cache)
and prints, per run, the wall and process CPU time of the whole analysis
(``cohortstat.analysis.study.analyze``) and of the subgroup and period models of all the outcomes and
negative controls (``cohortstat.analysis.effects.effect_modification``), with the load average.
``--save`` pickles each outcome's effect rows and notes of the last run, so that two versions of the
code can be compared exactly (``pandas.testing.assert_frame_equal(..., check_exact=True)``).
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn, clock: list):
    """``fn`` that adds its wall and CPU time to ``clock`` at every call."""
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            clock[0] += time.perf_counter() - wall
            clock[1] += time.process_time() - cpu
    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder with patients/stays/diagnoses parquet files")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--save", help="pickle the effect rows and notes of the last run here")
    args = ap.parse_args()

    from cohortstat.analysis import outcomes
    from cohortstat.analysis.study import analyze
    from cohortstat.cohort.builder import build_cohort
    from cohortstat.spec import load_study

    study = load_study(ROOT / "studies" / "sepsis_cancer.yaml")
    cohort = build_cohort(study, args.data)
    clock = [0.0, 0.0]
    outcomes.effect_modification = _timed(outcomes.effect_modification, clock)
    for i in range(args.repeats):
        clock[:] = [0.0, 0.0]
        load = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        res = analyze(study, cohort)
        print(f"run {i}: analysis wall {time.perf_counter() - wall:.1f} s, CPU {time.process_time() - cpu:.1f} s; "
              f"effect_modification wall {clock[0]:.1f} s, CPU {clock[1]:.1f} s; "
              f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)
    if args.save:
        rows = {o.name: (o.effects, o.notes) for o in (*res.outcomes, *res.controls)}
        Path(args.save).write_bytes(pickle.dumps(rows))


if __name__ == "__main__":
    main()
