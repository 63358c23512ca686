"""The reference study end to end on synthetic data: time per step and peak RSS.

    PYTHONPATH=. python benchmarks/bench_study.py --patients 3900000 --seed 1 [--data DIR] [--engine duckdb]

Generates the data (not timed in the total) unless --data points at an existing folder, then runs
``cohortstat.run.run`` on studies/sepsis_cancer.yaml, prints the time of each step (from run.log), the
total, the peak resident memory of this process (resource.getrusage; children included), and whether
each planted exposure effect of truth.json falls inside the reported 95% CI of the adjusted Cox model.
Targets: total <= 10 min on 2 cores, peak RSS <= 12 GB.

Variants mode (``--variants``): the same data run twice, the study without its sensitivity variants
(main analysis alone) and with them; prints both totals, their ratio and the time of each variant
(target: with variants within 2x the main analysis alone). A study without variants gets
:data:`DEFAULT_VARIANTS` (two that change only analyses, one that changes the cohort).
``--no-reuse`` switches off the reuse of identical fits (for comparison). ``--jobs N`` runs the study
with its variants with the run setting ``jobs`` (variants with their own cohort in worker processes);
the peak memory is then also given as the sum over the processes (sampled every 0.2 s from /proc).

    PYTHONPATH=. python benchmarks/bench_study.py --patients 200000 --variants [--jobs 2]
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
#: Variants added in --variants mode to a study that has none.
DEFAULT_VARIANTS = {
    "iptw": {"analyses": {"confounding": {"method": "iptw"}}},
    "overlap": {"analyses": {"confounding": {"method": "overlap"}}},
    "blanking_2y": {"follow_up": {"blanking_days": 730}},
}


def _steps(out: Path) -> list[tuple[str, float]]:
    steps = []
    for line in (out / "run.log").read_text().splitlines():
        m = re.match(r"step (.+): ([\d.]+)s", line)
        if m:
            steps.append((m.group(1), float(m.group(2))))
    return steps


def _peak_gb() -> float:
    """Peak resident memory of this process or its children, GB."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024**2


def _tree_rss_gb() -> float:
    """Resident memory of this process and its child processes now, GB (from /proc)."""
    import os

    me, total = os.getpid(), 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
            if int(d.name) == me or int(stat[1]) == me:
                total += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024**3


def _sampled_peak(stop, peak: list) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], _tree_rss_gb())
        stop.wait(0.2)


def _timed_run(study, data, out: Path, engine: str, jobs: int = 1) -> tuple[float, float]:
    """Seconds of one run and the peak of the summed RSS of the run's processes (GB)."""
    import threading

    from cohortstat.run import run

    stop, peak = threading.Event(), [0.0]
    sampler = threading.Thread(target=_sampled_peak, args=(stop, peak), daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    try:
        run(None, data, out, engine=engine, study=study, jobs=jobs)
        return time.perf_counter() - t0, peak[0]
    finally:
        stop.set()
        sampler.join()


def _studies(study_path: Path):
    from cohortstat.spec import load_study
    from cohortstat.spec.canonical import to_data
    from cohortstat.spec.loading import validate_document

    study = load_study(study_path)
    doc = to_data(study)
    if not study.sensitivity:
        doc["sensitivity"] = DEFAULT_VARIANTS
    return validate_document({**doc, "sensitivity": {}}), validate_document(doc)


def variants_part(part: str, study_path: Path, data, work: Path, engine: str, reuse: bool, jobs: int = 1) -> None:
    """One timed run in this process: ``main`` (no variants) or ``all`` (with them)."""
    main_only, with_variants = _studies(study_path)
    if not reuse:
        import contextlib

        import cohortstat.analysis.fit_cache as fc

        fc.reuse_fits = contextlib.nullcontext  # every fit made afresh
    out = work / f"out_{part}"
    secs, tree = _timed_run(main_only if part == "main" else with_variants, data, out, engine, jobs)
    print(f"TIME {secs:.2f}")
    print(f"RSS {_peak_gb():.2f}")
    print(f"TREE {tree:.2f}")
    for step, step_secs in _steps(out):
        print(f"STEP {step_secs:.2f} {step}")
    if part == "all" and jobs == 1:
        for name, t in _variant_times(out, list(with_variants.sensitivity)):
            print(f"VARIANT {name} {t:.2f}")


def variants_mode(study_path: Path, data, work: Path, engine: str, reuse: bool, jobs: int = 1) -> None:
    """Time the study alone and with its sensitivity variants, each in a fresh process (same start-up
    and compilation costs), on the same data."""
    import subprocess
    import sys

    _, with_variants = _studies(study_path)
    results = {}
    for part in ("main", "all"):
        cmd = [sys.executable, __file__, "--data", str(data), "--study", str(study_path), "--engine", engine,
               "--variants-part", part, "--work", str(work), "--jobs", str(jobs)] + ([] if reuse else ["--no-reuse"])
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[part] = text.splitlines()
        print(f"[{part}]", *results[part], sep="\n    ", flush=True)  # each part as soon as it is done
    t_main = float(next(line.split()[1] for line in results["main"] if line.startswith("TIME ")))
    t_all = float(next(line.split()[1] for line in results["all"] if line.startswith("TIME ")))
    print(f"variants: {', '.join(with_variants.sensitivity)}   fit reuse: {'on' if reuse else 'off'}   jobs: {jobs}")
    for part, title in (("main", "main analysis alone"), ("all", "main + variants")):
        print(f"{title}: steps (s)")
        for line in results[part]:
            if line.startswith("STEP "):
                _, secs, step = line.split(" ", 2)
                print(f"    {step:<32}{float(secs):>10.2f}")
        print(f"    peak RSS {next(line.split()[1] for line in results[part] if line.startswith('RSS '))} GB"
              f" (largest process); summed over the processes "
              f"{next(line.split()[1] for line in results[part] if line.startswith('TREE '))} GB")
    print(f"{'main analysis alone':<36}{t_main:>10.2f} s")
    print(f"{'main + variants':<36}{t_all:>10.2f} s   ratio {t_all / t_main:.2f}")
    for line in results["all"]:
        if line.startswith("VARIANT "):
            _, name, secs = line.split()
            print(f"  variant {name:<26}{float(secs):>10.2f} s")


def _variant_times(out: Path, names: list[str]) -> list[tuple[str, float]]:
    """Seconds from each variant's first run.log line to the next variant's (or the report's)."""
    stamps = []
    for line in (out / "run.log").read_text().splitlines():
        m = re.match(r"\s*([\d.]+)s (.*)$", line)
        if m:
            stamps.append((float(m.group(1)), m.group(2)))
    starts = []
    for name in names:
        t = next((t for t, msg in stamps if msg.startswith(f"sensitivity {name}:")), None)
        if t is not None:
            starts.append((name, t))
    end = next((t for t, msg in stamps if msg.startswith("write report")), stamps[-1][0])
    bounds = [t for _, t in starts[1:]] + [end]
    return [(name, b - t) for (name, t), b in zip(starts, bounds)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=3_900_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--keep", action="store_true", help="keep the generated data and the report")
    ap.add_argument("--variants", action="store_true", help="time the study with and without its variants")
    ap.add_argument("--no-reuse", action="store_true", help="with --variants: refit identical models")
    ap.add_argument("--jobs", type=int, default=1, help="with --variants: the run setting jobs of the run with them")
    ap.add_argument("--study", type=Path, default=ROOT / "studies" / "sepsis_cancer.yaml")
    ap.add_argument("--core", action="store_true",
                    help="the shipped study without negative controls, variants, subgroups, periods and the two "
                         "outcomes planted for them (tests/core_study.py): the design of earlier versions")
    ap.add_argument("--variants-part", choices=("main", "all"), help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.variants_part:  # one timed run of --variants mode, in its own process
        variants_part(args.variants_part, args.study, args.data, args.work, args.engine, not args.no_reuse,
                      args.jobs)
        return

    from cohortstat.run import run

    work = Path(tempfile.mkdtemp(prefix="bench_study_"))
    if args.core:
        import sys

        sys.path.insert(0, str(ROOT / "tests"))
        from core_study import core_text

        args.study = Path(tempfile.mkdtemp(prefix="bench_study_core_")) / "core_study.yaml"  # not above --out
        args.study.write_text(core_text(), encoding="utf-8")
    data = args.data
    if data is None:
        from cohortstat.data.synth import generate

        t0 = time.perf_counter()
        data = generate(args.patients, args.seed, work / "data")
        print(f"data generation (not in the total): {time.perf_counter() - t0:.1f} s")
    if args.variants:
        variants_mode(args.study, data, work, args.engine, reuse=not args.no_reuse, jobs=args.jobs)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return
    out = work / "out"
    t0 = time.perf_counter()
    run(args.study, data, out, engine=args.engine)
    total = time.perf_counter() - t0
    peak_gb = _peak_gb()
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
