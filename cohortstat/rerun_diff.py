"""A reviewer's view of a rerun: the differences between two ``results.json`` as readable, grouped lines.

:func:`compare` walks both documents (floats equal to a relative tolerance, everything else exactly) and
returns :class:`Difference` rows named by what they are: outcome, model, term, statistic (``lung /
Cox, adjusted / exposure / hr: 0.5845 -> 0.5901 (+0.96%)``), never by a JSON path. :func:`render` groups
them by section and outcome with a summary line; :func:`version_drift` lists the packages whose version
differs between the lock of the original run and the running environment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Difference", "compare", "render", "version_drift"]

_MODEL_LABELS = {"cox_crude": "Cox, crude", "cox_adjusted": "Cox, adjusted", "cox_ps": "Cox, PS-adjusted",
                 "fg_crude": "Fine-Gray, crude", "fg_adjusted": "Fine-Gray, adjusted", "fg_ps": "Fine-Gray, PS-adjusted"}
_SECTIONS = {"table_one": "Table 1", "table_one_adjusted": "Table 1 (adjusted)", "attrition": "Patient flow",
             "balance": "Balance", "ps_coef": "Propensity-score model", "estimates": "Estimates table",
             "notes": "Notes", "data_checks": "Data checks", "outcomes": "Outcomes"}
_OUTCOME_PARTS = {"rates": "incidence", "models": None, "ph": "PH test", "gray": "Gray's test",
                  "at_risk": "numbers at risk", "cif_by_year": "cumulative incidence", "notes": "notes"}
_SKIP = {"provenance"}
_TOP_SKIP = {"provenance", "engine"}  # how the run was made, not a result


@dataclass(frozen=True)
class Difference:
    """One difference: where (``section``, ``outcome``, ``what``), which statistic, old and new values."""

    section: str
    outcome: str
    what: str
    statistic: str
    old: object
    new: object

    @property
    def relative(self) -> float | None:
        """``(new - old) / |old|`` for two numbers (None otherwise, or when old is 0)."""
        a, b = self.old, self.new
        if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) \
                or not isinstance(b, (int, float)) or a == 0:
            return None
        return (b - a) / abs(a)

    def line(self) -> str:
        rel = self.relative
        change = f" ({rel:+.2%})" if rel is not None else ""
        where = " / ".join(p for p in (self.what, self.statistic) if p)
        return f"{where}: {_show(self.old)} -> {_show(self.new)}{change}"


def _show(v) -> str:
    if v is _MISSING:
        return "(absent)"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list)):
        return f"({len(v)} items)"
    return repr(v) if isinstance(v, str) else str(v)


_MISSING = object()


def _same(a, b, rtol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)
    return a == b


def _row_name(row: dict) -> str:
    """A readable name of a list item (a table row) from its identifying fields."""
    parts = []
    if "model" in row:
        parts.append(_MODEL_LABELS.get(row["model"], str(row["model"])))
    for key in ("analysis", "variable", "level", "term", "covariate", "group", "year", "description", "name",
                "subgroup", "period"):
        v = row.get(key)
        if v not in (None, "") and not (key == "analysis" and v == "main"):
            parts.append(f"year {v}" if key == "year" else str(v))
    return " / ".join(parts)


def _keyed(rows: list) -> bool:
    names = [_row_name(r) if isinstance(r, dict) else None for r in rows]
    return bool(rows) and None not in names and "" not in names and len(set(names)) == len(names)


def _walk(old, new, section: str, outcome: str, what: str, rtol: float, out: list) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            if key in _SKIP:
                continue
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            if a is _MISSING or b is _MISSING:
                out.append(Difference(section, outcome, what, str(key), a, b))
            elif isinstance(a, (dict, list)) and isinstance(b, (dict, list)):
                _walk(a, b, section, outcome, " / ".join(p for p in (what, str(key)) if p), rtol, out)
            elif not _same(a, b, rtol):
                out.append(Difference(section, outcome, what, str(key), a, b))
    elif isinstance(old, list) and isinstance(new, list):
        if _keyed(old) and _keyed(new):  # table rows: matched by what they are, not by position
            a, b = {_row_name(r): r for r in old}, {_row_name(r): r for r in new}
            for name in list(a) + [n for n in b if n not in a]:
                where = " / ".join(p for p in (what, name) if p)
                if name not in a or name not in b:
                    out.append(Difference(section, outcome, where, "row", a.get(name, _MISSING), b.get(name, _MISSING)))
                else:
                    _walk(a[name], b[name], section, outcome, where, rtol, out)
            return
        if len(old) != len(new):
            out.append(Difference(section, outcome, what or "list", "rows", len(old), len(new)))
        for i, (a, b) in enumerate(zip(old, new)):
            if isinstance(a, dict) and isinstance(b, dict):
                _walk(a, b, section, outcome, " / ".join(p for p in (what, _row_name(a) or f"row {i + 1}") if p),
                      rtol, out)
            elif not _same(a, b, rtol):
                out.append(Difference(section, outcome, what, f"item {i + 1}", a, b))
    elif not _same(old, new, rtol):
        out.append(Difference(section, outcome, what, "", old, new))


def compare(old: dict, new: dict, rtol: float = 1e-9) -> list[Difference]:
    """Every difference between two ``results.json`` documents (``provenance`` and ``engine`` are not compared)."""
    out: list[Difference] = []
    for key in sorted(set(old) | set(new)):
        if key in _TOP_SKIP:
            continue
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        section = _SECTIONS.get(key, key.replace("_", " "))
        if key == "outcomes" and isinstance(a, dict) and isinstance(b, dict):
            for name in sorted(set(a) | set(b)):
                oa, ob = a.get(name, _MISSING), b.get(name, _MISSING)
                label = (oa if isinstance(oa, dict) else ob).get("label", name)
                if oa is _MISSING or ob is _MISSING:
                    out.append(Difference(section, label, "", "outcome", oa, ob))
                    continue
                for part in sorted(set(oa) | set(ob)):
                    if part == "label":
                        continue
                    pa, pb = oa.get(part, _MISSING), ob.get(part, _MISSING)
                    what = _OUTCOME_PARTS.get(part, part.replace("_", " ")) or ""
                    if pa is _MISSING or pb is _MISSING or not isinstance(pa, (dict, list)):
                        if pa is _MISSING or pb is _MISSING or not _same(pa, pb, rtol):
                            out.append(Difference(section, label, what, part if not what else "", pa, pb))
                    else:
                        _walk(pa, pb, section, label, what, rtol, out)
        elif a is _MISSING or b is _MISSING:
            out.append(Difference(section, "", "", "whole section", a, b))
        else:
            _walk(a, b, section, "", "", rtol, out)
    return out


def _collapsed(items: list[Difference], limit: int) -> list[str]:
    """Lines of one group: a field added or removed in many rows is one line; at most ``limit`` lines."""
    fields: dict[tuple[str, bool], int] = {}
    rest = []
    for d in items:
        if (d.old is _MISSING) != (d.new is _MISSING) and d.statistic not in ("row", "rows", "outcome", "whole section"):
            key = (d.statistic, d.old is _MISSING)
            fields[key] = fields.get(key, 0) + 1
        else:
            rest.append(d.line())
    lines = [f"field {name!r} {'new in the rerun' if new else 'absent from the rerun'} ({n} row(s))"
             for (name, new), n in fields.items()]
    lines += rest
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more"]
    return lines


def render(diffs: list[Difference], *, drift: list[str] = (), old_name: str = "original",
           new_name: str = "rerun", limit: int = 25) -> str:
    """The differences grouped by section and outcome, with a summary; ``identical`` when there are none.

    In each group a field added or removed in many rows (a new version's new column) is one line, and at
    most ``limit`` lines are listed (the count of the others follows).
    """
    lines = []
    if drift:
        lines.append("Version drift between the lock and this environment: " + "; ".join(drift))
    if not diffs:
        lines.append(f"identical: every number of the {old_name} reproduced in the {new_name}")
        return "\n".join(lines)
    numeric = [d.relative for d in diffs if d.relative is not None]
    groups: dict[tuple[str, str], list[Difference]] = {}
    for d in diffs:
        groups.setdefault((d.section, d.outcome), []).append(d)
    summary = (f"{len(diffs)} difference(s) between the {old_name} and the {new_name} in {len(groups)} group(s): "
               f"{len(numeric)} changed number(s)")
    if numeric:
        summary += f", largest relative change {max(numeric, key=abs):+.2%}"
    lines.append(summary)
    for (section, outcome), items in groups.items():
        lines.append(f"{section}" + (f": {outcome}" if outcome else "") + f" ({len(items)})")
        lines += [f"  {line}" for line in _collapsed(items, limit)]
    return "\n".join(lines)


def version_drift(locked: dict | None, running: dict | None) -> list[str]:
    """``"numpy 2.4.6 -> 2.5.0"`` for each package whose version differs between lock and environment."""
    locked, running = dict(locked or {}), dict(running or {})
    out = []
    for name in sorted(set(locked) | set(running)):
        a, b = locked.get(name), running.get(name)
        if a != b:
            out.append(f"{name} {a or '(absent)'} -> {b or '(absent)'}")
    return out
