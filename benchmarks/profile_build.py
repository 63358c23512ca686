"""Where a cohort build spends its time: every materialisation and collection the engine runs.

    PYTHONPATH=. python benchmarks/profile_build.py --data DIR [--engine duckdb] [--threads 2]

Wraps :class:`cohortstat.engines.Engine`'s ``materialize``, ``to_pandas`` and ``con.execute``-like
scalar reads for one ``build_cohort`` of the shipped study and prints, in order, the wall and CPU time
of each (the stem of the materialised table names the step), the builder's step times (cumulative wall and CPU seconds), the total, the process CPU time (user +
system, all threads: less sensitive to other jobs on the machine than the wall time), the peak RSS and the
1-minute load average before and after. Query results are not changed.

With ``--engine spark`` the work runs in Spark's JVM, a child process that this process's own CPU time
and peak RSS do not include: the child processes' CPU time (read from /proc at every step and at the
end, while the JVM is alive) is added to the step times, and reported with their peak RSS as
``children_cpu_s`` and ``children_peak_rss_gb`` (Linux only; zero elsewhere and for DuckDB). The Spark
session (the JVM) is started before the clock, so its start-up is in neither the times nor the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

from cohortstat.cohort import build_cohort
from cohortstat.engines import Engine
from cohortstat.spec import load_study

STUDY = Path(__file__).resolve().parents[1] / "studies" / "sepsis_cancer.yaml"


def _wrap(log: list) -> None:
    """Time ``materialize`` and ``to_pandas`` of the engine base class and of every engine that
    overrides them (DuckDB's ``to_pandas`` is its own)."""
    for cls in (Engine, *Engine.__subclasses__()):
        if "materialize" in vars(cls):
            cls.materialize = _timed(vars(cls)["materialize"], log, lambda a, k: f"materialize {k.get('stem', a[2] if len(a) > 2 else '?')}")
        if "to_pandas" in vars(cls):
            cls.to_pandas = _timed(vars(cls)["to_pandas"], log, lambda a, k: "collect")


def _timed(method, log: list, label):
    def timed(*args, **kwargs):
        t, c = time.perf_counter(), _cpu_exact() + _children()[0]
        out = method(*args, **kwargs)
        log.append((label(args, kwargs), time.perf_counter() - t, _cpu_exact() + _children()[0] - c))
        return out

    return timed


def _cpu_exact() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _cpu() -> float:
    return round(_cpu_exact() + _children()[0], 1)


def _children() -> tuple[float, float]:
    """CPU seconds (user + system) and summed peak RSS (GB) of the live descendant processes."""
    stats = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stats[int(entry)] = fh.read().rsplit(")", 1)[1].split()
        except (OSError, ValueError):  # not a process, or one that has just ended
            continue
    tick = os.sysconf("SC_CLK_TCK")
    mine, todo = set(), [os.getpid()]
    while todo:
        parent = todo.pop()
        kids = [pid for pid, f in stats.items() if int(f[1]) == parent and pid not in mine]
        mine.update(kids)
        todo.extend(kids)
    cpu = sum((int(stats[pid][11]) + int(stats[pid][12])) / tick for pid in mine)
    return cpu, sum(_peak_rss_kb(pid) for pid in mine) / 1024**2


def _peak_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default=None)
    args = ap.parse_args()
    log: list = []
    _wrap(log)
    study = load_study(STUDY)
    if args.engine == "spark":  # the JVM is started before the clock, as in bench_cohort.py
        from cohortstat.engines import _spark_session

        _spark_session(args.threads, args.memory_limit)
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), _cpu()
    steps = []
    c = build_cohort(study, data=args.data, engine=args.engine, threads=args.threads,
                     memory_limit=args.memory_limit,
                     progress=lambda i, n, m: steps.append((m, round(time.perf_counter() - t0, 2), round(_cpu() - c0, 1))))
    total = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    build_cpu = _cpu() - c0
    kids_cpu, kids_rss = _children()
    print("  wall s   CPU s")
    for name, s, cpu in log:
        print(f"{s:8.2f}  {cpu:6.2f}  {name}")
    print(json.dumps({"data": str(args.data), "rows": len(c.table), "total_s": round(total, 1),
                      "cpu_s": round(ru.ru_utime + ru.ru_stime, 1),
                      "build_cpu_s": round(build_cpu, 1), "peak_rss_gb": round(ru.ru_maxrss / 1024**2, 2),
                      "children_cpu_s": round(kids_cpu, 1), "children_peak_rss_gb": round(kids_rss, 2),
                      "steps": steps, "load": [round(load0, 1), round(os.getloadavg()[0], 1)]}))


if __name__ == "__main__":
    main()
