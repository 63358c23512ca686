"""Where the compiled kernels keep their cache: a per-user cache folder, never the installed package.

numba's ``cache=True`` writes compiled machine code beside the source file by default. Inside
site-packages that leaves a ``cohortstat/`` folder behind after an uninstall, and that stray folder
then hides a later editable install (``ModuleNotFoundError`` on every run). Every kernel module
imports numba from here, so the cache folder is set before anything is compiled:

* ``NUMBA_CACHE_DIR`` when the user set it (their choice wins);
* otherwise ``<user cache dir>/cohortstat/<version>/numba`` (platformdirs: ``~/.cache`` on Linux).

The cache is keyed by numba on the source file's path and modification time, so two checkouts or
two versions never share compiled code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from platformdirs import user_cache_dir

from cohortstat._version import __version__


def cache_dir() -> str:
    """The folder numba caches compiled kernels in (created by numba on first compile)."""
    return os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        user_cache_dir("cohortstat", appauthor=False), __version__, "numba"
    )


os.environ.setdefault("NUMBA_CACHE_DIR", cache_dir())

import numba  # noqa: E402  (after the cache folder is set)

if numba.config.CACHE_DIR != os.environ["NUMBA_CACHE_DIR"]:  # numba was imported before us
    numba.core.config.reload_config()



def n_threads() -> int:
    """Threads for the row parts of the compiled loops: numba's ``NUMBA_NUM_THREADS`` (the processors
    this process may use, unless set)."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


_POOL: ThreadPoolExecutor | None = None


def run_parts(kernel, args_per_part) -> None:
    """Call the compiled ``kernel`` once per part (a list of argument tuples), parts on threads.

    The kernels are compiled with ``nogil=True`` and write only to their own part's buffers, so the
    parts run side by side and the result does not depend on how many threads ran them. Plain
    threads instead of numba's ``parallel=True``: that option costs ~10 s of compiling per
    specialisation on first use and gains nothing here (the parts are already explicit).
    """
    global _POOL
    if len(args_per_part) == 1 or n_threads() == 1:
        for args in args_per_part:
            kernel(*args)
        return
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=n_threads(), thread_name_prefix="cohortstat-kernel")
    for f in [_POOL.submit(kernel, *args) for args in args_per_part]:
        f.result()


COMPILE_MESSAGE = "compiling numerical kernels, once per installation"


@contextmanager
def compile_notice(say: Callable[[str], None]) -> Iterator[None]:
    """Within the block, ``say(COMPILE_MESSAGE)`` once, when a cohortstat kernel starts compiling.

    Kernels loaded from the cache folder are not compiled (numba fires no compile event for them),
    so a run with a warm cache says nothing.
    """
    from numba.core import event

    said = []

    class _Notice(event.Listener):
        def on_start(self, ev) -> None:
            disp = ev.data.get("dispatcher")
            module = getattr(getattr(disp, "py_func", None), "__module__", "") or ""
            if not said and module.startswith("cohortstat."):
                said.append(True)
                say(COMPILE_MESSAGE)

        def on_end(self, ev) -> None:
            pass

    with event.install_listener("numba:compile", _Notice()):
        yield


__all__ = ["COMPILE_MESSAGE", "cache_dir", "compile_notice", "n_threads", "numba", "run_parts"]
