"""SIGINT, SIGTERM and SIGHUP during a run: stop at once, clean up, never publish.

:func:`guard` installs handlers for the duration of a run (main thread only; restored after; a signal
the process ignores -- SIGHUP under ``nohup``, SIGINT of a background job -- stays ignored). A signal
raises :class:`RunInterrupted` (a ``KeyboardInterrupt``) where the program is, and is also recorded:

* an exception raised in a place that swallows it -- a garbage-collection callback or a ``__del__``
  (Python prints "Exception ignored" and goes on), a library turning it into its own error (DuckDB:
  ``RuntimeError: Query interrupted`` / ``duckdb.InterruptException``) -- is caught up with at the next
  step boundary (:func:`raise_if_interrupted`) or where the run handles errors (:func:`interrupted`);
* while the finished folder is renamed into place (:func:`deferred`) and while temporary files are
  removed, a signal is only recorded, so that neither is left half done.

The command line exits with 128 + the signal number: 130 for SIGINT (Ctrl-C), 143 for SIGTERM, 129 for
SIGHUP (the terminal was closed).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["RunInterrupted", "deferred", "guard", "interrupted", "raise_if_interrupted"]

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``signum`` and ``exit_code`` (128 + signum) say which."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        self.exit_code = 128 + self.signum
        name = signal.Signals(self.signum).name
        super().__init__(f"interrupted by {name}; the temporary output folder was removed and nothing was written")


class _State:
    signum: int | None = None
    depth = 0
    hold = 0


_state = _State()


def _handler(signum, frame) -> None:  # noqa: ANN001 - signal handler signature
    _state.signum = _state.signum or signum
    if _state.hold == 0:
        raise RunInterrupted(_state.signum)


@contextmanager
def guard() -> Iterator[None]:
    """Handle SIGINT and SIGTERM inside the block (re-entrant; a no-op outside the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _state.depth:
        _state.depth += 1
        try:
            yield
        finally:
            _state.depth -= 1
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    _state.signum, _state.depth, _state.hold = None, 1, 0
    for s in SIGNALS:
        if previous[s] is not signal.SIG_IGN:
            signal.signal(s, _handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        _state.signum, _state.depth, _state.hold = None, 0, 0


def interrupted() -> int | None:
    """The number of the signal received inside :func:`guard`, or None."""
    return _state.signum


def raise_if_interrupted() -> None:
    """Raise :class:`RunInterrupted` when a signal was received (called at every step boundary)."""
    if _state.signum is not None:
        raise RunInterrupted(_state.signum)


@contextmanager
def deferred() -> Iterator[None]:
    """Inside the block a signal is recorded but raises nothing (renames, clean-up)."""
    _state.hold += 1
    try:
        yield
    finally:
        _state.hold -= 1
