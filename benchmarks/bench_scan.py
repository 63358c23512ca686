"""The disclosure scan's identifier search: a list of every patient id against a join inside DuckDB.

    PYTHONPATH=. python benchmarks/bench_scan.py --data DIR [--tokens 5000]

Times, on one data folder, (a) reading every patient id into a Python list and intersecting it with
the tokens of a report (what ``run`` did before) and (b) ``identifier_matcher`` (the tokens joined
with the identifier column inside DuckDB), checks that both find the same identifiers, and prints
wall and CPU seconds and the 1-minute load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

from cohortstat.report.suppression import _identifiers_found
from cohortstat.sources.provenance import identifier_matcher, identifiers


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--tokens", type=int, default=5000)
    args = ap.parse_args()
    tokens = {f"TOKEN{i:08d}x" for i in range(args.tokens)}
    load0 = os.getloadavg()[0]
    t, c = time.perf_counter(), _cpu()
    ids = identifiers(args.data)
    tokens |= set(ids[:3])  # three real identifiers planted among the tokens
    by_list = _identifiers_found(tokens, ids)
    list_s, list_cpu = time.perf_counter() - t, _cpu() - c
    del ids
    t, c = time.perf_counter(), _cpu()
    by_join = _identifiers_found(tokens, identifier_matcher(args.data))
    join_s, join_cpu = time.perf_counter() - t, _cpu() - c
    print(json.dumps({"data": str(args.data), "found_equal": by_list == by_join, "found": len(by_join),
                      "list_s": round(list_s, 2), "list_cpu_s": round(list_cpu, 2),
                      "join_s": round(join_s, 2), "join_cpu_s": round(join_cpu, 2),
                      "load": [round(load0, 1), round(os.getloadavg()[0], 1)]}))


if __name__ == "__main__":
    main()
