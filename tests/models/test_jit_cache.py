"""The compiled-kernel cache lives in a per-user folder, never beside the package's source."""

import os
import pathlib
import subprocess
import sys

import cohortstat
from cohortstat.models._kernels import _jit


def test_cache_dir_is_outside_the_package():
    package = pathlib.Path(cohortstat.__file__).resolve().parent
    cache = pathlib.Path(_jit.cache_dir()).resolve()
    assert package not in cache.parents and cache != package
    assert _jit.numba.config.CACHE_DIR == os.environ["NUMBA_CACHE_DIR"]


def test_a_fit_writes_no_compiled_file_into_the_package(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    code = (
        "import numpy as np, pandas as pd\n"
        "from cohortstat.models import CoxPH\n"
        "rng = np.random.default_rng(1)\n"
        "df = pd.DataFrame({'t': rng.integers(1, 50, 200), 'e': rng.integers(0, 2, 200),"
        " 'x': rng.normal(size=200)})\n"
        "CoxPH().fit(df, duration='t', event='e', covariates=['x'])\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path)
    written = list((tmp_path / "cache").rglob("*.nbi"))
    assert written, "the compiled kernels were not cached in the user cache folder"
    package = pathlib.Path(cohortstat.__file__).resolve().parent
    assert all(package not in p.resolve().parents for p in written)


def test_every_compiled_kernel_lives_under_models_kernels():
    import pathlib

    import cohortstat.models as models

    root = pathlib.Path(models.__file__).parent
    outside = [p.name for p in root.glob("*.py") if "njit" in p.read_text() or "import numba" in p.read_text()]
    assert outside == []
    inside = [p.name for p in (root / "_kernels").glob("*.py") if "njit" in p.read_text()]
    assert {"cox_loops.py", "fg_loops.py", "matching_kernels.py"} <= set(inside)
    for name in inside:  # every kernel module takes numba from _jit (per-user cache folder)
        assert "from cohortstat.models._kernels._jit import numba" in (root / "_kernels" / name).read_text()
