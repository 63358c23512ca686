"""cohortstat's own warnings reach the console as one plain line; other warnings keep Python's format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import warnings
from cohortstat.cli import _plain_warnings
from cohortstat.errors import CohortWarning
_plain_warnings()
warnings.warn("outcome lung: group 'sepsis' has no outcome event", CohortWarning)
warnings.warn("a library's own warning", UserWarning)
"""


def test_cohortstat_warning_is_one_plain_line():
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-W", "default", "-c", SCRIPT], capture_output=True, text=True,
                          env=env, check=True)
    lines = done.stderr.splitlines()
    assert lines[0] == "warning: outcome lung: group 'sepsis' has no outcome event"
    assert not any("CohortWarning" in line or "warnings.warn" in line for line in lines)
    assert any("UserWarning: a library's own warning" in line for line in lines[1:])
