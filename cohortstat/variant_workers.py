"""Sensitivity variants with a cohort of their own, built and analysed in worker processes (``jobs``).

A variant that changes the cohort (``follow_up``, ``inclusion``, ``outcomes``, ``covariates``,
``comparison``) shares nothing with the main analysis but the data. With ``jobs`` >= 2 (run profile
``jobs:``, ``--jobs``) and the DuckDB engine, up to ``jobs - 1`` worker processes build and analyse
such variants while the main process builds and analyses the main study and the variants that change
only ``analyses`` (those reuse the main cohort and its fits, so they stay in the main process).

Choices:

- a worker is a fresh Python process (``spawn``: no state copied from the main process, no threads of
  DuckDB or of the numerical kernels inherited half-way) that runs what a separate run of the resolved
  variant runs: its cohort build, then :func:`cohortstat.analysis.analyze` inside
  :func:`~cohortstat.analysis.fit_cache.reuse_fits`. Its results are therefore those of the sequential
  run, to the last bit (tested);
- the variants are dealt to the workers in the order of the study file, round robin, before any starts;
  each worker sends every result as soon as it has it and goes on with its next variant;
- each worker has the run's threads and DuckDB memory limit: peak memory adds up across processes
  (docs/engines.md);
- a failed variant stops the run with the worker's error (its type kept when it can cross processes),
  naming the variant; a worker that dies without a result (killed, out of memory) stops the run with a
  :class:`~cohortstat.errors.CohortstatError` that says so and suggests ``--jobs 1``. The main process
  looks for both at each of its steps (:meth:`VariantWorkers.check`), so the run stops within a step of
  the failure, not after the main analysis;
- when the run fails or is interrupted, every worker still running is terminated (SIGTERM, then
  SIGKILL after 5 s); a worker whose main process has gone stops at its next step.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue as queue_module
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cohortstat.errors import CohortstatError

__all__ = ["BuildSettings", "VariantWorkers", "build_study_cohort", "deal"]

_POLL_S = 0.5
_TERMINATE_GRACE_S = 5.0


@dataclass(frozen=True)
class BuildSettings:
    """Where and how a cohort is built (picklable: sent to the workers)."""

    data: Path
    engine: str = "duckdb"
    threads: int | None = None
    source: str | None = None
    memory_limit: str | None = None
    spark_master: str | None = None


def build_study_cohort(study, settings: BuildSettings):
    """The cohort of ``study`` (negative controls added as outcome columns) with ``settings``."""
    from cohortstat.cohort import build_cohort
    from cohortstat.spec.variants import with_negative_controls

    study = with_negative_controls(study)  # negative controls need outcome columns
    return build_cohort(study, data=settings.data, engine=settings.engine, threads=settings.threads,
                        source=settings.source, memory_limit=settings.memory_limit,
                        spark_master=settings.spark_master)


def deal(names: Sequence[str], workers: int) -> list[list[str]]:
    """``names`` dealt round robin to at most ``workers`` lists (none empty)."""
    hands = [list(names[k::workers]) for k in range(max(1, workers))]
    return [h for h in hands if h]


def _portable(exc: BaseException, name: str) -> BaseException:
    """``exc`` if it survives pickling (its type kept), else a CohortstatError carrying its text."""
    try:
        back = pickle.loads(pickle.dumps(exc))
        if type(back) is type(exc) and str(back) == str(exc):
            return back
    except Exception:  # noqa: BLE001 - any pickling failure: fall back to the text
        pass
    return CohortstatError(f"sensitivity variant {name!r}: {type(exc).__name__}: {exc}")


def _analyse_variant(study, name: str, settings: BuildSettings, progress: Callable[[str], None]):
    """What a separate run of variant ``name`` computes: its cohort, then its analyses."""
    from cohortstat.analysis import analyze
    from cohortstat.analysis.fit_cache import reuse_fits
    from cohortstat.spec.variants import resolve_variant

    variant = resolve_variant(study, name)
    progress(f"sensitivity {name}: build cohort")
    cohort = build_study_cohort(variant, settings)
    progress(f"sensitivity {name}: analyses")
    with reuse_fits():
        return analyze(variant, cohort, progress=progress)


def _worker(names, study, settings, results, parent: int, target=_analyse_variant) -> None:
    """Worker process: each variant of ``names`` in turn, every outcome put on ``results``."""
    t0 = time.perf_counter()
    lines: list[str] = []

    def progress(message: str) -> None:
        if os.getppid() != parent:  # the main process has gone: stop at this step
            raise SystemExit(3)
        lines.append(f"{time.perf_counter() - t0:9.2f}s {message}")

    for name in names:
        try:
            res = target(study, name, settings, progress)
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the main process
            results.put((name, "error", _portable(exc, name), traceback.format_exc()))
            return
        results.put((name, "ok", res, list(lines)))
        lines.clear()


class VariantWorkers:
    """Worker processes analysing the sensitivity variants ``names`` (a context manager).

    ``with VariantWorkers(study, names, settings, jobs=2) as w: ... w.result(name)``; leaving the block
    terminates any worker still running (so does an exception inside it).
    """

    def __init__(self, study, names: Sequence[str], settings: BuildSettings, *, workers: int,
                 target: Callable = _analyse_variant):
        ctx = multiprocessing.get_context("spawn")
        self._queue = ctx.Queue()
        self._done: dict[str, tuple] = {}
        self._procs = []
        for hand in deal(list(names), workers):
            p = ctx.Process(target=_worker, args=(hand, study, settings, self._queue, os.getpid(), target),
                            name=f"cohortstat-variants-{'-'.join(hand)}", daemon=True)
            self._procs.append((p, tuple(hand)))

    def __enter__(self) -> VariantWorkers:
        for p, _ in self._procs:
            p.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for _, hand in self._procs for n in hand)

    def result(self, name: str):
        """The results of variant ``name`` and its worker's progress lines (waits for them).

        Raises the variant's own error, or CohortstatError when its worker stopped without a result.
        """
        while name not in self._done:
            try:
                got = self._queue.get(timeout=_POLL_S)
            except queue_module.Empty:
                self._check_alive(name)
                continue
            self._done[got[0]] = got[1:]
        kind, payload, extra = self._done[name]
        if kind == "error":
            raise payload
        return payload, extra

    def check(self) -> None:
        """Raise now, without waiting, the first failure known so far: a variant's own error, or a worker
        stopped before sending all its results. The main process calls it at each of its steps, so a
        variant that fails early stops the run early."""
        while True:
            try:
                got = self._queue.get_nowait()
            except queue_module.Empty:
                break
            self._done[got[0]] = got[1:]
        for name, (kind, payload, _) in self._done.items():
            if kind == "error":
                raise payload
        for p, hand in self._procs:
            pending = [n for n in hand if n not in self._done]
            if pending and p.pid is not None and not p.is_alive():
                self._check_alive(pending[0])

    def _check_alive(self, name: str) -> None:
        for p, hand in self._procs:
            if name in hand and not p.is_alive():
                try:  # a result sent just before the worker ended may still be in the pipe
                    got = self._queue.get(timeout=_POLL_S)
                    self._done[got[0]] = got[1:]
                    return
                except queue_module.Empty:
                    pass
                raise CohortstatError(
                    f"sensitivity variant {name!r}: its worker process stopped (exit code {p.exitcode}) without "
                    "a result - killed, or out of memory? Nothing was written; run with --jobs 1 to analyse "
                    "the variants one after the other in the main process")

    def close(self) -> None:
        """Terminate the workers still running and release the queue."""
        for p, _ in self._procs:
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + _TERMINATE_GRACE_S
        for p, _ in self._procs:
            if p.pid is None:
                continue
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
        self._queue.cancel_join_thread()
        self._queue.close()
