"""The shipped study as a Python script: the same calls the command line makes.

    PYTHONPATH=. python studies/sepsis_cancer.py DATA_DIR OUT_DIR

Equivalent to ``cohortstat run studies/sepsis_cancer.yaml --data DATA_DIR --out OUT_DIR`` except that
it writes no study.lock.json / run.log (use ``cohortstat run`` for a re-runnable report folder).
"""

import sys
from pathlib import Path

import cohortstat as cs

data, out = sys.argv[1], sys.argv[2]
study = cs.load_study(Path(__file__).with_name("sepsis_cancer.yaml"))
cohort = cs.build_cohort(study, data=data, engine="duckdb")
print(cohort.attrition.to_string(index=False))
results = cs.analyze(study, cohort)
est = results.table()
print(est[(est["term"] == "exposure") & (est["statistic"] == "hr")].to_string(index=False))
cs.write_report(results, out=out, min_cell_count=10)
print(f"report written to {out}/report.html")
