"""Benchmark the cohort builder: the reference study on one data folder, DuckDB vs Spark.

Each engine runs in a fresh Python process (so peak memory is that engine's alone) on the same data
in the same run; the script prints one table: engine, patients in the data, rows of the analysis
table, wall time of ``build_cohort`` (for Spark: the session, i.e. the JVM, is started before the
clock), peak resident memory of the Python process and of its children (the Spark JVM), and for
Spark the number of jobs the build ran (from the session's status tracker).

Usage::

    PYTHONPATH=. python benchmarks/bench_cohort.py --data DIR [--engines duckdb,spark]
    PYTHONPATH=. python benchmarks/bench_cohort.py --patients 200000 --seed 1 --out /tmp/synth200k

``--patients`` generates the data first with ``cohortstat.data.synth.generate``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

_WORKER = r"""
import json, os, resource, sys, time

def children_hwm_gb():
    # peak resident memory (VmHWM) of live child processes, e.g. the Spark JVM
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
            if int(stat[1]) != os.getpid():
                continue
            for line in open(f"/proc/{d}/status"):
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024**2
from cohortstat.cohort import build_cohort
from cohortstat.spec import load_study
study = load_study(open(sys.argv[1]).read())
master, save = (sys.argv[5] or None, sys.argv[6] or None) if len(sys.argv) > 6 else (None, None)
steps = []
extra = {}
if sys.argv[3] == "spark":
    from cohortstat.engines import _spark_session
    session, _ = _spark_session(int(sys.argv[4]) or None, master=master)  # kept alive to read the JVM's peak
    tracker = session.sparkContext.statusTracker()
    def last_job():
        return max(tracker.getJobIdsForGroup(None), default=-1)
    first_job = last_job()
t0 = time.perf_counter()
c = build_cohort(study, data=sys.argv[2], engine=sys.argv[3],
                 threads=int(sys.argv[4]) if sys.argv[4] != "0" else None, spark_master=master,
                 progress=lambda i, n, m: steps.append((m, round(time.perf_counter() - t0, 2))))
wall = time.perf_counter() - t0
if sys.argv[3] == "spark":
    extra = {"jobs": last_job() - first_job, "master": session.sparkContext.master,
             "executors": session.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1}
if save:
    import pandas as pd
    pd.to_pickle({"table": c.table, "attrition": c.attrition, "notes": c.notes}, save)
ru = resource.getrusage(resource.RUSAGE_SELF)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
rss_children = max(children_hwm_gb(),
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2)
print("RESULT" + json.dumps({"rows": len(c.table), "wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "rss_gb": rss,
                             "rss_children_gb": rss_children, "steps": steps, **extra}))
"""


def _patients(data: Path) -> int:
    import pyarrow.parquet as pq

    path = data / "patients.parquet"
    files = [path] if path.exists() else sorted((data / "patients").glob("*.parquet"))
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def run(study: Path, data: Path, engine: str, threads: int, master: str | None = None,
        save: Path | None = None) -> dict:
    """Build the cohort in a fresh process and return its figures.

    ``master``: the Spark master (default ``local[threads]``); ``save``: also pickle the cohort's
    table, attrition and notes there (to compare engines).
    """
    proc = subprocess.run(
        [sys.executable, "-c", _WORKER, str(study), str(data), engine, str(threads), master or "", str(save or "")],
        capture_output=True, text=True, check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            return json.loads(line[len("RESULT"):])
    raise RuntimeError(f"{engine} failed:\n{proc.stderr[-3000:]}")


def data_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with the data options every cohort benchmark takes (see :func:`data_folder`)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--patients", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--study", type=Path, default=Path("studies/sepsis_cancer.yaml"))
    return ap


def data_folder(ap: argparse.ArgumentParser, args) -> Path:
    """``--data``, or synthetic data of ``--patients`` generated into ``--out`` (default under /tmp)."""
    data = args.data
    if args.patients:
        from cohortstat.data.synth import generate

        data = args.out or Path(f"/tmp/cohortstat-synth-{args.patients}-{args.seed}")
        generate(args.patients, args.seed, data)
    if data is None:
        ap.error("give --data DIR or --patients N")
    return data


def main(argv: list[str] | None = None) -> None:
    ap = data_arguments(__doc__.splitlines()[0])
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--threads", type=int, default=0, help="0: all cores")
    args = ap.parse_args(argv)
    data = data_folder(ap, args)
    n = _patients(data)
    rows = []
    for engine in args.engines.split(","):
        r = run(args.study, data, engine, args.threads)
        rows.append((engine, n, r))
        print(f"{engine}: steps " + ", ".join(f"{m} {t}s" for m, t in r["steps"]), flush=True)
    print()
    print(f"{'engine':8} {'patients':>10} {'rows':>9} {'wall s':>8} {'peak RSS GB':>12} "
          f"{'children GB':>12}")
    for engine, n, r in rows:
        print(f"{engine:8} {n:>10,} {r['rows']:>9,} {r['wall_s']:>8.1f} {r['rss_gb']:>12.2f} "
              f"{r['rss_children_gb']:>12.2f}")


if __name__ == "__main__":
    main()
