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

A stored fit keeps its estimates but not the arrays a Cox result holds for residuals and the PH test
(``_data``: the design, the risk sets; several hundred MB per fit at millions of rows): what the
analysis computes from those arrays goes through :func:`derived`, computed once on the full result and
stored beside the fit. A reused fit asked for something not computed before is fitted again in full.
"""

from __future__ import annotations

import dataclasses
import hashlib
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import pandas as pd

__all__ = ["cached", "cached_for", "derived", "fit_recorded", "frame_digest", "reuse_fits", "stats"]

_CACHE: ContextVar[dict | None] = ContextVar("cohortstat_fit_cache", default=None)
_ENTRIES = "entries"  # id(result) -> its _Entry, for every result handed out (weak: no result kept alive)
_FIT_COLUMNS = ("duration", "event", "covariates", "strata", "weights", "cluster", "entry")


@contextmanager
def reuse_fits() -> Iterator[dict]:
    """Keep identical computations for reuse until the block ends (nested blocks share the outer one)."""
    if _CACHE.get() is not None:
        yield _CACHE.get()
        return
    store: dict = {"hits": 0, "misses": 0, _ENTRIES: {}}
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


class _Entry:
    """A stored fit: the result without its arrays, its warnings, the values derived from the full result."""

    def __init__(self, result, caught):
        self.result = _light(result)
        self.stripped = self.result is not result
        self.caught = caught
        self.values: dict = {}


def _light(result):
    """``result`` without the arrays it keeps for residuals (``_data``), or ``result`` when it has none."""
    if dataclasses.is_dataclass(result) and getattr(result, "_data", None) is not None:
        return dataclasses.replace(result, _data=None)
    return result


_NOTHING = object()


def _remember(table: dict, key, obj, value) -> bool:
    """``table[key]`` = ``value`` for as long as ``obj`` lives, without keeping ``obj`` alive; False when
    ``obj`` is not weak-referenceable (nothing remembered)."""
    try:
        table[key] = (weakref.ref(obj), value)
    except TypeError:
        return False
    return True


def _recall(table: dict, key, obj):
    """The value remembered under ``key`` for the live object ``obj`` (never for another object that took
    a dead one's address), else ``_NOTHING``."""
    ref, value = table.get(key, (None, _NOTHING))
    return value if ref is not None and ref() is obj else _NOTHING


def _register(store: dict, result, entry: _Entry) -> None:
    """Remember which entry ``result`` belongs to (its derived values are not reused when it cannot be)."""
    _remember(store[_ENTRIES], id(result), result, entry)


def _entry_of(store: dict, result) -> _Entry | None:
    entry = _recall(store[_ENTRIES], id(result), result)
    return None if entry is _NOTHING else entry


def fit_recorded(model, df: pd.DataFrame, kwargs: dict):
    """``(result, warnings)`` of ``model.fit(df, **kwargs)``: the warnings the fit raised (recorded,
    not shown); reused inside :func:`reuse_fits` when the same fit was made before (then without the
    arrays for residuals: use :func:`derived` for what needs them)."""
    store = _CACHE.get()
    if store is None:
        return _fit_now(model, df, kwargs)
    key = _fit_key(model, df, kwargs)
    if key in store:
        store["hits"] += 1
        entry = store[key]
        return entry.result, entry.caught
    store["misses"] += 1
    res, caught = _fit_now(model, df, kwargs)
    store[key] = entry = _Entry(res, caught)
    _register(store, res, entry)
    _register(store, entry.result, entry)
    return res, caught


def derived(result, label, compute: Callable[[object], object], refit: Callable[[], object]):
    """``compute(result)`` for a fit of :func:`fit_recorded`, once per stored fit and ``label``.

    ``label`` names the computation and every setting it reads besides the fit. When ``result`` is a
    reused fit without its arrays and the value was not computed before, ``refit()`` (a fresh fit with
    the same inputs, outside the store) gives the full result to compute on."""
    store = _CACHE.get()
    entry = _entry_of(store, result) if store is not None else None
    if entry is None:
        return compute(result)
    if label in entry.values:
        store["hits"] += 1
        return entry.values[label]
    full = refit() if entry.stripped and result is entry.result else result
    entry.values[label] = value = compute(full)
    return value


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


def cached_for(owner, key: tuple, compute: Callable[[], object]):
    """``compute()``, or its earlier result for the same ``key`` and the same live object ``owner``.

    For computations determined by an immutable object and ``key`` (e.g. a cohort and the settings of
    its Table 1): no hashing of data. ``owner`` is not kept alive; a new object never gets an earlier
    object's result, even at the same address."""
    store = _CACHE.get()
    if store is None:
        return compute()
    full = ("for", id(owner), *key)
    value = _recall(store, full, owner)
    if value is not _NOTHING:
        store["hits"] += 1
        return value
    value = compute()
    if _remember(store, full, owner, value):  # (not weak-referenceable: computed every time)
        store["misses"] += 1
    return value


def replay(caught) -> None:
    """Raise recorded warnings again (for a caller that catches them)."""
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
