"""Time of the disclosure ledger's solve on a matched study's report, with and without the per-component
memory of leaks.

    PYTHONPATH=. python benchmarks/bench_disclosure.py --patients 5000 --exact sex --repeat 3

Generates the synthetic population (``cohortstat synth``), runs the shipped study with 1:1
propensity-score matching (exact on ``--exact``), captures the report's ledger before it is solved, then
solves copies of it alternately with the ledger as shipped and with a ledger that recomputes every
component at every round, and prints one JSON line per solve (wall s, hidden cells, 1-minute load) and
whether both hide the same cells.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path

import yaml

import cohortstat as cs
from cohortstat.data.synth import generate
from cohortstat.report import disclosure

STUDY = Path(__file__).resolve().parents[1] / "studies" / "sepsis_cancer.yaml"


class _Unmemoised(disclosure.Ledger):
    def _component_leaks(self, cols, rows):
        return [f for _, f in sorted(self._leaks_in(cols, rows), key=lambda t: t[0])]


def _ledger(patients: int, exact: list[str], tmp: Path) -> disclosure.Ledger:
    data = generate(patients, 1, tmp / "data")
    spec = yaml.safe_load(STUDY.read_text())
    spec["analyses"]["confounding"] = {"method": "matching", "ratio": 1, "exact": exact}
    study = cs.load_study(yaml.safe_dump(spec, sort_keys=False))
    results = cs.analyze(study, cs.build_cohort(study, data=data, engine="duckdb"))
    captured = {}
    real = disclosure.Ledger.solve

    def spy(self, *args, **kwargs):
        captured.setdefault("ledger", copy.deepcopy(self))
        return real(self, *args, **kwargs)

    disclosure.Ledger.solve = spy
    try:
        cs.write_report(results, out=tmp / "out", min_cell_count=10)
    finally:
        disclosure.Ledger.solve = real
    return captured["ledger"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=5000)
    ap.add_argument("--exact", default="sex", help="comma-separated exact-matching variables")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = _ledger(args.patients, args.exact.split(","), Path(tmp))
    hidden = {}
    for _ in range(args.repeat):
        for name, cls in (("memo", disclosure.Ledger), ("no_memo", _Unmemoised)):
            led = copy.deepcopy(base)
            led.__class__ = cls
            t0 = time.perf_counter()
            hidden[name] = led.solve()
            print(json.dumps({"solve": name, "patients": args.patients, "s": round(time.perf_counter() - t0, 3),
                              "vars": len(led.vars), "relations": len(led.relations), "hidden": len(led.hidden),
                              "load": round(os.getloadavg()[0], 1)}), flush=True)
    print(json.dumps({"same_hidden": hidden["memo"] == hidden["no_memo"]}))


if __name__ == "__main__":
    main()
