"""Benchmark: the first ``cohortstat run`` of the quickstart (empty kernel cache) against a warm run.

The README quickstart: 20,000 synthetic patients (seed 1), ``studies/sepsis_cancer.yaml`` on DuckDB.
Each round runs the whole command twice in fresh processes, both with the same new, empty
compiled-kernel cache folder (``NUMBA_CACHE_DIR``, the variable cohortstat's kernel cache honours):
first cold (every kernel the study uses is compiled and written to the folder), then warm (every
kernel loaded from it). Wall time of the whole process from outside, and its CPU time (user + sys,
all threads: on a shared machine the figure that waiting for a core does not inflate); the
difference cold - warm is the cost of compiling. Rounds are repeated and the medians reported, with the load average.

``--source DIR`` times another checkout of cohortstat (e.g. an earlier version, for a before/after
comparison in the same run); the study file is always this checkout's.

Usage: PYTHONPATH=. python benchmarks/bench_coldstart.py [--rounds 3] [--patients 20000] [--source DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "sepsis_cancer.yaml"
COMPILE_MESSAGE = "compiling numerical kernels, once per installation"


def _env(cache: Path | None = None, source: Path = ROOT) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(source)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    return env


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _cohortstat(args: list[str], env: dict) -> tuple[float, float, str]:
    """Run ``python -m cohortstat ARGS``; wall seconds, CPU seconds (user + sys) and what it printed."""
    t0, c0 = time.perf_counter(), _children_cpu()
    proc = subprocess.run([sys.executable, "-m", "cohortstat", *args], env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if proc.returncode != 0:
        raise SystemExit(f"cohortstat {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return wall, cpu, proc.stdout + proc.stderr


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--source", type=Path, default=ROOT)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        data = tmp / "data"
        _cohortstat(["synth", "--patients", str(a.patients), "--seed", "1", "--out", str(data)], _env())
        cold, warm, cpu = [], [], {"cold": [], "warm": []}
        for i in range(a.rounds):
            cache = tmp / f"cache{i}"  # new and empty: numba creates it on the first compile
            print(f"round {i + 1}: load average {_load()}", flush=True)
            for kind, times in (("cold", cold), ("warm", warm)):
                out = tmp / f"out_{kind}{i}"
                wall, used, printed = _cohortstat(["run", str(STUDY), "--data", str(data), "--out", str(out)],
                                            _env(cache, a.source.resolve()))
                times.append(wall)
                cpu[kind].append(used)
                said = COMPILE_MESSAGE in printed
                print(f"  {kind}: {wall:6.2f} s wall, {used:6.2f} s CPU (compile message shown: {said})", flush=True)
        diffs = [c - w for c, w in zip(cold, warm, strict=True)]
        print(f"load average at the end {_load()}")
        print(f"median cold {statistics.median(cold):.2f} s, median warm {statistics.median(warm):.2f} s, "
              f"median cold - warm {statistics.median(diffs):.2f} s (per round: "
              f"{', '.join(f'{d:.2f}' for d in diffs)})")
        print(f"CPU (user + sys): median cold {statistics.median(cpu['cold']):.2f} s, median warm "
              f"{statistics.median(cpu['warm']):.2f} s")


if __name__ == "__main__":
    main()
