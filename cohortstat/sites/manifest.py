"""Content-hash manifest of a site package: detects any file changed, added or removed after the run.

``MANIFEST.json`` lists the SHA-256 of every other file of the package and ``package_hash``, the
SHA-256 of the sorted ``path  digest`` lines. The manifest detects editing (by hand or by a tool) and
truncated transfers; it is not a signature: someone who edits a file and recomputes the manifest is not
detected - exchange ``package_hash`` over a second channel (e-mail, phone) when that matters.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cohortstat.sites.errors import SitePackageError

MANIFEST = "MANIFEST.json"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _digest(p)
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != MANIFEST}


def _package_hash(files: dict[str, str]) -> str:
    lines = "".join(f"{name}  {digest}\n" for name, digest in sorted(files.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def write_manifest(root: Path) -> str:
    """Write ``root/MANIFEST.json`` for every file under ``root``; returns the package hash."""
    files = _files(root)
    ph = _package_hash(files)
    (root / MANIFEST).write_text(json.dumps({"files": files, "package_hash": ph}, indent=2, sort_keys=True) + "\n",
                                 encoding="utf-8")
    return ph


def verify_manifest(root: Path) -> str:
    """Check every file of a package against its manifest; returns the package hash.

    Raises
    ------
    SitePackageError
        Naming each changed, missing or unexpected file.
    """
    root = Path(root)
    path = root / MANIFEST
    if not path.is_file():
        raise SitePackageError(f"{root} has no {MANIFEST}; it is not a cohortstat site package "
                               "(point at OUT/site_package of a `cohortstat run ... --site NAME`)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        recorded = dict(doc["files"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SitePackageError(f"{path} is unreadable ({exc}); ask the site to send its package again") from exc
    found = _files(root)
    problems = [f"{n}: content changed" for n in sorted(recorded) if n in found and found[n] != recorded[n]]
    problems += [f"{n}: missing" for n in sorted(set(recorded) - set(found))]
    problems += [f"{n}: not in the manifest" for n in sorted(set(found) - set(recorded))]
    if _package_hash(recorded) != doc.get("package_hash"):
        problems.append(f"{MANIFEST}: package_hash does not match its file list")
    if problems:
        raise SitePackageError(
            f"the site package {root} does not match its manifest (edited or damaged after the run):\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nask the site to re-run `cohortstat run ... --site NAME` and send the new package unchanged")
    return doc["package_hash"]
