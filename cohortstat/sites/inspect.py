"""``cohortstat inspect-package DIR``: every number a site package holds, for review before it leaves.

The listing names each file, then one line per number: its place (JSON path, or CSV row and column)
and its value. Suppressed cells (``<k``, ``*``) are listed as such. Text values (labels, descriptions,
hashes) are listed too, so that the reviewer sees the whole content; the manifest check comes first.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from cohortstat.sites.manifest import MANIFEST, verify_manifest
from cohortstat.sites.package import PACKAGE_DIR

SUPPRESSED = ("<", "*")


def _walk(obj, where: str) -> Iterator[tuple[str, object]]:
    if isinstance(obj, dict):
        for k in sorted(obj):
            yield from _walk(obj[k], f"{where}.{k}" if where else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{where}[{i}]")
    else:
        yield where, obj


def _kind(value) -> str:
    if isinstance(value, bool) or value is None:
        return "flag"
    if isinstance(value, int | float):
        return "number"
    s = str(value)
    if s.startswith(SUPPRESSED):
        return "suppressed"
    try:
        float(s)
    except ValueError:
        return "text"
    return "number"


def entries(root) -> Iterator[tuple[str, str, str, object]]:
    """(file, place, kind, value) for every value of every file of the package."""
    root = Path(root)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST):
        name = path.relative_to(root).as_posix()
        if path.suffix == ".json":
            for where, v in _walk(json.loads(path.read_text(encoding="utf-8")), ""):
                yield name, where, _kind(v), v
        elif path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as fh:
                for i, row in enumerate(csv.DictReader(fh), start=2):
                    for col, v in row.items():
                        if v != "":
                            yield name, f"row {i}, {col}", _kind(v), v
        else:
            yield name, "(whole file)", "text", path.read_text(encoding="utf-8", errors="replace")[:200]


def inspect_package(path, numbers_only: bool = False) -> str:
    """The listing as text (see the module docstring); raises SitePackageError on a manifest mismatch."""
    root = Path(path)
    if (root / PACKAGE_DIR).is_dir():
        root = root / PACKAGE_DIR
    ph = verify_manifest(root)
    lines = [f"site package {root}", f"package_hash {ph} (every file matches MANIFEST.json)"]
    counts = {"number": 0, "suppressed": 0, "text": 0, "flag": 0}
    current = None
    for name, where, kind, v in entries(root):
        counts[kind] += 1
        if numbers_only and kind not in ("number", "suppressed"):
            continue
        if name != current:
            lines.append(f"\n== {name}")
            current = name
        lines.append(f"  {where} = {v}" + ("   [suppressed]" if kind == "suppressed" else ""))
    lines.append(f"\n{counts['number']} numbers, {counts['suppressed']} suppressed cells, {counts['text']} text "
                 f"values, {counts['flag']} flags/empty values")
    return "\n".join(lines) + "\n"
