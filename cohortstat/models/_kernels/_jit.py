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

__all__ = ["cache_dir", "numba"]
