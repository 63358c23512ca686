"""Output folders that cannot hurt: where cohortstat may write, what it may replace.

Every folder cohortstat publishes (a report folder of ``run`` or ``rerun``) holds a marker file,
:data:`MARKER`. The rules, checked before any analysis runs:

* ``out`` may not be, contain or lie inside a *protected* folder: the data folder and the folder of the
  study file. It may not be or contain the current folder or the project root (the nearest folder
  above the current one holding ``.git`` or ``pyproject.toml``); a report folder *inside* the project
  (``--out out/``) is the ordinary case and is allowed. ``force`` does not lift these rules.
* An existing ``out`` is replaced only with ``force``, and only when it is a folder holding the marker:
  a plain folder, a file or a symbolic link is never deleted, with or without ``force``.
* The folder that will receive ``out`` must be writable: the temporary folder is created beside
  ``out`` at the start (:func:`prepare`), so a file in the way, ``--out .`` or a read-only parent fail
  in a second, not after every analysis ran.

Outputs are written to that temporary folder and renamed to ``out`` in one step (:meth:`Staging.publish`);
an interrupted or failed run removes it (:meth:`Staging.discard`), together with the parent folders
:func:`prepare` created.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cohortstat.errors import ReportError

__all__ = ["MARKER", "MIN_CELL_FLOOR", "Staging", "check_min_cell_count", "check_target", "is_marked", "prepare",
           "project_root"]

#: Name of the marker file written into every folder cohortstat publishes.
MARKER = ".cohortstat-output"
MARKER_TEXT = "This folder was written by cohortstat; `--force` may replace it as a whole.\n"
_ROOT_FILES = (".git", "pyproject.toml")


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the current folder) holding ``.git`` or
    ``pyproject.toml``; ``start`` itself when there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / name).exists() for name in _ROOT_FILES):
            return folder
    return here


def is_marked(folder: Path) -> bool:
    """True when ``folder`` is a real folder (not a link) holding the cohortstat marker file."""
    folder = Path(folder)
    return folder.is_dir() and not folder.is_symlink() and (folder / MARKER).is_file()


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def _resolve(path: Path) -> Path:
    return Path(os.path.abspath(path)).resolve()


def check_target(out, *, force: bool, protected: Iterable[tuple[str, Path]] = ()) -> Path:
    """Refuse an output folder that could destroy something; return ``out`` made absolute.

    Parameters
    ----------
    out : path
        The folder to publish.
    force : bool
        Replace an existing ``out`` (only one holding the marker).
    protected : iterable of (what, path)
        Folders ``out`` may not be, contain or lie inside (``("the data folder", data)``, ...).

    Raises
    ------
    ReportError
        Naming the rule that was broken and what to do.
    """
    raw = Path(out)
    if str(raw).strip() == "":
        raise ReportError("--out is empty; name a new folder for the report, e.g. --out out/")
    target = _resolve(raw)
    for what, folder in protected:
        if folder is None:
            continue
        folder = _resolve(Path(folder))
        if _within(target, folder) or _within(folder, target):
            raise ReportError(
                f"--out {raw} is, contains or lies inside {what} ({folder}); cohortstat never writes there"
                " (a --force could delete it): choose a folder elsewhere, e.g. next to it"
            )
    for what, folder in (("the current folder", Path.cwd()), ("the project root", project_root())):
        folder = _resolve(folder)
        if _within(folder, target):
            raise ReportError(
                f"--out {raw} is or contains {what} ({folder}); name a new folder for the report, e.g. --out out/"
            )
    _check_existing(raw, force)
    return target


def _check_existing(out: Path, force: bool) -> None:
    if out.is_symlink():
        raise ReportError(f"--out {out} is a symbolic link; cohortstat never replaces one: choose another --out")
    if not out.exists():
        return
    if not out.is_dir():
        raise ReportError(f"--out {out} is a file, not a folder; cohortstat never replaces a file: choose another --out")
    if not is_marked(out):
        raise ReportError(
            f"--out {out} is a folder that cohortstat did not write (no {MARKER} file in it); cohortstat replaces"
            " only its own report folders, even with --force: choose another --out or remove it yourself"
        )
    if not force:
        raise ReportError(f"{out} exists; choose another --out or pass --force to replace it")


@dataclass
class Staging:
    """A temporary folder beside ``out`` receiving every output, then renamed to ``out``."""

    out: Path
    tmp: Path
    force: bool
    created: list[Path] = field(default_factory=list)

    def publish(self) -> Path:
        """Rename the temporary folder to ``out`` (replacing a marked ``out`` only with ``force``).

        SIGINT and SIGTERM are held back while the two renames run, so that an interrupt never leaves
        ``out`` missing; the checks of :func:`check_target` are repeated first (the folder may have
        changed during the run).
        """
        from cohortstat import interrupts

        with interrupts.deferred():
            interrupts.raise_if_interrupted()
            _check_existing(self.out, self.force)
            (self.tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
            if self.out.exists():
                old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
                os.replace(self.out, old)
                try:
                    os.replace(self.tmp, self.out)
                except OSError:
                    os.replace(old, self.out)  # put the previous report back
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.tmp, self.out)
        self.created = []
        return self.out

    def discard(self) -> None:
        """Remove the temporary folder and the (empty) parent folders :func:`prepare` created."""
        from cohortstat import interrupts

        with interrupts.deferred():
            shutil.rmtree(self.tmp, ignore_errors=True)
            _remove_empty(self.created)


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


def _missing_parents(folder: Path) -> list[Path]:
    """The folders ``mkdir(parents=True)`` would create for ``folder``, deepest first."""
    missing = []
    for p in (folder, *folder.parents):
        if p.exists() or p.is_symlink():
            break
        missing.append(p)
    return missing


def prepare(out, *, force: bool = False, protected: Iterable[tuple[str, Path]] = ()) -> Staging:
    """Check ``out`` (:func:`check_target`) and create its temporary folder; before any analysis.

    Raises
    ------
    ReportError
        ``out`` is refused, or its parent cannot hold a new folder (a file in the way, read-only, ...).
    """
    check_target(out, force=force, protected=protected)
    out = Path(out)
    if out.name in ("", ".", ".."):
        raise ReportError(f"--out {out} names no new folder; name one, e.g. --out out/")
    parent = out.parent
    blocker = next((p for p in (parent, *parent.parents) if p.exists() or p.is_symlink()), None)
    if blocker is not None and not blocker.is_dir():
        raise ReportError(f"cannot create --out {out}: {blocker} is a file, not a folder; choose another --out")
    created = _missing_parents(parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as exc:
        _remove_empty(created)
        reason = exc.strerror or str(exc)
        raise ReportError(f"cannot write the report folder {out}: {parent}: {reason}; choose a writable --out") from None
    return Staging(out=out, tmp=tmp, force=force, created=created)



#: Smallest minimum cell count accepted without an explicit override (SNDS/CNIL publication rule).
MIN_CELL_FLOOR = 10


def check_min_cell_count(min_cell_count, *, allow_small_cells: bool = False, frozen: int | None = None) -> int:
    """The minimum cell count to use, or a ReportError saying why it is refused.

    A count may never go below ``frozen`` (the threshold of the run being re-run), nor below
    :data:`MIN_CELL_FLOOR` unless ``allow_small_cells`` (``--allow-small-cells``; the run records the
    override in run.log, results.json and study.lock.json).
    """
    if isinstance(min_cell_count, bool) or not isinstance(min_cell_count, int):
        raise ReportError(f"--min-cell-count must be a whole number, got {min_cell_count!r}")
    k = int(min_cell_count)
    if k < 1:
        raise ReportError(f"--min-cell-count must be >= 1, got {k}")
    if frozen is not None and k < frozen:
        raise ReportError(
            f"--min-cell-count {k} is below the frozen run's minimum cell count ({frozen}); a rerun may raise"
            " the threshold, never lower it"
        )
    if k < MIN_CELL_FLOOR and not allow_small_cells:
        raise ReportError(
            f"--min-cell-count {k} is below {MIN_CELL_FLOOR}, the publication rule for hospital data; pass"
            " --allow-small-cells (allow_small_cells=True) to accept it -- the override is recorded in the outputs"
        )
    return k
