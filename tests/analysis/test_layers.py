"""Layers point one way: spec -> data -> cohort -> models -> analysis -> report; no statistics in report/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "cohortstat"
ORDER = ("spec", "data", "cohort", "models", "analysis", "report")


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def _modules(layer: str) -> list[Path]:
    base = PACKAGE / layer
    return sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]


@pytest.mark.parametrize("layer", ORDER)
def test_no_module_imports_a_later_layer(layer):
    later = ORDER[ORDER.index(layer) + 1:]
    bad = [f"{p.relative_to(PACKAGE)} imports {m}" for p in _modules(layer) for m in _imports(p)
           if m.split(".")[0] == "cohortstat" and len(m.split(".")) > 1 and m.split(".")[1] in later]
    assert not bad, bad


def test_report_holds_no_statistics():
    # the report renders and suppresses: no estimator, no distribution function, no SMD
    bad = [f"{p.relative_to(PACKAGE)} imports {m}" for p in _modules("report") for m in _imports(p)
           if m.startswith(("scipy", "statsmodels", "cohortstat.models", "cohortstat.analysis.balance"))]
    assert not bad, bad
    assert not (PACKAGE / "report" / "tables.py").exists()


def test_constants_module_depends_on_nothing_of_the_package():
    assert not [m for m in _imports(PACKAGE / "constants.py") if m.startswith("cohortstat")]
