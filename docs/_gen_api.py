"""Generate docs/api.md, the public API on one page, from the docstrings.

Run from the repository root: ``python docs/_gen_api.py`` (writes docs/api.md). The cheat-sheet
section is kept in docs/_api_cheatsheet.md and appended as it is.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import cohortstat
import cohortstat.analysis
import cohortstat.models
import cohortstat.models.formula
import cohortstat.models.meta

HERE = Path(__file__).resolve().parent
SECTIONS = (
    ("Running a study", cohortstat, cohortstat.__all__),
    ("Analysis layer: balance, Table 1, rates, E-values, estimates", cohortstat.analysis,
     cohortstat.analysis.__all__),
    ("Models", cohortstat.models, cohortstat.models.__all__),
    ("Meta-analysis", cohortstat.models.meta, cohortstat.models.meta.__all__),
)
SKIP = {"__version__"}


def _doc(obj) -> str:
    return inspect.cleandoc(inspect.getdoc(obj) or "(no docstring)")


def _signature(name: str, obj) -> str:
    try:
        return f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return name


def _methods(cls) -> list[tuple[str, object]]:
    out = []
    for name, member in inspect.getmembers(cls):
        if name.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, name)
        if isinstance(raw, (classmethod, staticmethod)) or inspect.isfunction(member):
            if getattr(member, "__module__", "").startswith("cohortstat"):
                out.append((name, member))
        elif isinstance(raw, property):
            out.append((name, raw))
    return out


def _first_paragraph(text: str) -> str:
    return text.split("\n\n", 1)[0].replace("\n", " ")


def render_object(name: str, obj) -> list[str]:
    kind = "class" if inspect.isclass(obj) else "function"
    where = getattr(obj, "__module__", "")
    lines = [f"### `{name}` ({kind}, `{where}`)", "", "```python", _signature(name, obj), "```", "", _doc(obj), ""]
    if inspect.isclass(obj):
        methods = _methods(obj)
        if methods:
            lines += ["Members:", ""]
            for mname, m in methods:
                if isinstance(m, property):
                    lines.append(f"- `{mname}` (property): {_first_paragraph(_doc(m.fget))}")
                else:
                    lines.append(f"- `{_signature(mname, m)}`: {_first_paragraph(_doc(m))}")
            lines.append("")
    return lines


def render() -> str:
    out = ["# cohortstat API", "",
           "Generated from the docstrings by `docs/_gen_api.py`; do not edit by hand.", ""]
    for title, module, names in SECTIONS:
        out += [f"## {title} (`{module.__name__}`)", ""]
        for name in sorted(n for n in names if n not in SKIP):
            out += render_object(name, getattr(module, name))
    out += ["## Formulas (`cohortstat.models.formula`)", "", _doc(cohortstat.models.formula), ""]
    cheat = HERE / "_api_cheatsheet.md"
    if cheat.exists():
        out += [cheat.read_text().rstrip(), ""]
    return "\n".join(out)


if __name__ == "__main__":
    (HERE / "api.md").write_text(render())
