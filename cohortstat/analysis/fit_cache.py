"""Reuse of identical computations within one run (main analysis and its sensitivity variants).

Inside :func:`reuse_fits`, a model fit (:func:`fit_recorded`) or another deterministic computation
(:func:`cached`) whose exact inputs were seen before returns the earlier result instead of computing
it again. The key is the estimator's class and settings, the fit's options, and a hash of the
content of every input column the computation reads (values, dtypes and row order), so a reused
result is the result the computation would give: a variant that changes only ``analyses`` reuses the
main analysis's crude models (and any other model whose inputs it leaves unchanged), to the last
digit. The warnings a fit raised are stored with it and replayed on reuse, so the notes of the report
are those of a fresh fit. Results are immutable; a failed fit is never stored. Outside
:func:`reuse_fits` nothing is kept.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import pandas as pd

__all__ = ["cached", "fit_recorded", "frame_digest", "reuse_fits", "stats"]

_CACHE: ContextVar[dict | None] = ContextVar("cohortstat_fit_cache", default=None)
_FIT_COLUMNS = ("duration", "event", "covariates", "strata", "weights", "cluster", "entry")


@contextmanager
def reuse_fits() -> Iterator[dict]:
    """Keep identical computations for reuse until the block ends (nested blocks share the outer one)."""
    if _CACHE.get() is not None:
        yield _CACHE.get()
        return
    store: dict = {"hits": 0, "misses": 0}
    token = _CACHE.set(store)
    try:
        yield store
    finally:
        _CACHE.reset(token)


def stats() -> dict:
    """``{"hits": ..., "misses": ...}`` of the active block (zeros outside one)."""
    store = _CACHE.get()
    return {"hits": store["hits"], "misses": store["misses"]} if store is not None else {"hits": 0, "misses": 0}


def frame_digest(df: pd.DataFrame, columns) -> str:
    """SHA-256 of the named columns of ``df``: names, dtypes, values and row order."""
    h = hashlib.sha256()
    h.update(str(len(df)).encode())
    for c in columns:
        s = df[c]
        h.update(f"|{c}|{s.dtype!r}|".encode())
        h.update(pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _names(value) -> list[str]:
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _settings(model) -> str:
    items = sorted((k, v) for k, v in vars(model).items())
    return f"{type(model).__module__}.{type(model).__qualname__}{items!r}"


def _fit_key(model, df: pd.DataFrame, kwargs: dict) -> tuple:
    columns = list(dict.fromkeys(c for k in _FIT_COLUMNS for c in _names(kwargs.get(k)) if c in df.columns))
    options = tuple(sorted((k, repr(v)) for k, v in kwargs.items()))
    return ("fit", _settings(model), options, frame_digest(df, columns))


def _fit_now(model, df: pd.DataFrame, kwargs: dict):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(df, **kwargs)
    return res, tuple(caught)


def fit_recorded(model, df: pd.DataFrame, kwargs: dict):
    """``(result, warnings)`` of ``model.fit(df, **kwargs)``: the warnings the fit raised (recorded,
    not shown); reused inside :func:`reuse_fits` when the same fit was made before."""
    store = _CACHE.get()
    if store is None:
        return _fit_now(model, df, kwargs)
    key = _fit_key(model, df, kwargs)
    if key in store:
        store["hits"] += 1
        return store[key]
    store["misses"] += 1
    store[key] = out = _fit_now(model, df, kwargs)
    return out


def cached(key: tuple, compute: Callable[[], object]):
    """``compute()``, or its earlier result for the same ``key`` inside :func:`reuse_fits`.

    ``key`` must hold every input of ``compute`` (use :func:`frame_digest` for data)."""
    store = _CACHE.get()
    if store is None:
        return compute()
    full = ("cached", *key)
    if full in store:
        store["hits"] += 1
        return store[full]
    store["misses"] += 1
    store[full] = out = compute()
    return out


def replay(caught) -> None:
    """Raise recorded warnings again (for a caller that catches them)."""
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
