"""Freeze a study into ``study.lock.json`` and load it back.

The lock holds the resolved study (every default explicit, concept sets canonical), its spec hash and
the cohortstat version that wrote it; a study with sensitivity variants also gets each variant's resolved
study (``sensitivity_studies``; for people to read: the variants themselves are in ``study`` and its hash). It is written atomically: to a temporary file in the target
folder, flushed to disk, then renamed over ``study.lock.json`` -- a reader never sees half a file.
:func:`load_lock` validates the study again and checks that the recorded hash still matches it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cohortstat._version import __version__
from cohortstat.errors import ReportError, SpecError
from cohortstat.spec.canonical import spec_hash, to_data
from cohortstat.spec.loading import validate_document
from cohortstat.spec.models import Study

LOCK_NAME = "study.lock.json"
LOCK_FORMAT = 1
#: Largest lock file read (bytes); a lock is about 12 kB.
MAX_LOCK_BYTES = 10_000_000
_OWN_KEYS = ("lock_format", "cohortstat_version", "spec_hash", "study")
#: Key of the lock holding each sensitivity variant's resolved study (only when the study has variants).
VARIANTS_KEY = "sensitivity_studies"


def lock_data(study: Study, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``study.lock.json`` as plain data; ``extra`` adds top-level keys (run info)."""
    data: dict[str, Any] = {
        "lock_format": LOCK_FORMAT,
        "cohortstat_version": __version__,
        "spec_hash": spec_hash(study),
        "study": to_data(study),
    }
    if study.sensitivity:
        from cohortstat.spec.variants import resolve_variant

        data[VARIANTS_KEY] = {name: to_data(resolve_variant(study, name)) for name in study.sensitivity}
    for key, value in (extra or {}).items():
        if key in _OWN_KEYS or key == VARIANTS_KEY:
            raise ValueError(f"extra key {key!r} would overwrite a key of the lock file")
        data[key] = value
    return data


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def freeze(study: Study, out_dir: str | os.PathLike, extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``out_dir/study.lock.json`` atomically and return its path.

    Parameters
    ----------
    study
        A validated study.
    out_dir
        Folder to write into (created when missing).
    extra
        Further top-level keys for the lock (e.g. a data fingerprint written by ``cohortstat run``);
        they must be JSON-serialisable and may not replace the lock's own keys.

    Raises
    ------
    ReportError
        When ``out_dir`` is a report folder or already holds the lock of a run (one with a data
        fingerprint): replacing it would drop the fingerprint that ``rerun`` checks.
    """
    path = Path(out_dir) / LOCK_NAME
    _refuse_run_lock(path)
    return write_json_atomic(path, lock_data(study, extra))


def _refuse_run_lock(path: Path) -> None:
    from cohortstat.outputs import MARKER

    if (path.parent / MARKER).is_file():
        raise ReportError(
            f"{path.parent} is a cohortstat report folder; its {LOCK_NAME} belongs to the run (data fingerprint,"
            " versions) and is never replaced: freeze into another folder"
        )
    if not path.is_file():
        return
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        existing = None
    if not isinstance(existing, dict) or "data_fingerprint" in existing or not all(k in existing for k in _OWN_KEYS):
        raise ReportError(
            f"{path} exists and is the lock of a run (or not a lock at all); freeze never replaces it: freeze into"
            " another folder"
        )


def load_lock(path: str | os.PathLike) -> Study:
    """Load the study of a lock file (or of a folder holding ``study.lock.json``).

    Raises
    ------
    SpecError
        When the file is missing or not a lock, when its study is invalid, or when its recorded hash
        does not match the study it holds (the file was edited by hand).
    """
    path = Path(path)
    if path.is_dir():
        path = path / LOCK_NAME
    where = str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_LOCK_BYTES + 1)
        if len(raw) > MAX_LOCK_BYTES:
            raise SpecError([(where, f"larger than {MAX_LOCK_BYTES} bytes; a study lock is a few kB")])
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise SpecError([(where, "no such file; run `cohortstat freeze` or `cohortstat run` first")]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError([(where, f"not a readable JSON lock file ({exc})")]) from None
    except RecursionError:
        raise SpecError([(where, "not a study lock: the JSON is nested too deeply")]) from None
    if not isinstance(data, dict) or not all(k in data for k in _OWN_KEYS):
        raise SpecError([(where, f"not a study lock: expected keys {', '.join(_OWN_KEYS)}")])
    if data["lock_format"] != LOCK_FORMAT:
        raise SpecError([(f"{where}: lock_format", f"unsupported lock format {data['lock_format']!r}; expected {LOCK_FORMAT}")])
    study = validate_document(data["study"], source=f"{where}: study")
    recorded, actual = data["spec_hash"], spec_hash(study)
    if recorded != actual:
        raise SpecError(
            [(f"{where}: spec_hash", f"recorded {recorded!r} but the study hashes to {actual!r}; the lock was edited, freeze the study again")]
        )
    return study
