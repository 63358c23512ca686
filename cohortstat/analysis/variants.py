"""Sensitivity analyses: every variant of a study run like a study of its own.

``analyze_variants(study, results, cohort, build=...)`` resolves each variant
(:func:`cohortstat.spec.variants.resolve_variant`), analyses it and returns ``results`` with the
variants attached (:attr:`StudyResults.variants`). A variant that changes only ``analyses`` reuses the
main cohort; any other variant gets its own cohort from ``build(variant_study)``. A variant's results
are those of a separate run of the resolved study: same cohort rules, same analyses, same seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from cohortstat.analysis.results import StudyResults
from cohortstat.analysis.study import analyze

__all__ = ["analyze_variants"]


def analyze_variants(study, results: StudyResults, cohort, *, build: Callable | None = None,
                     progress: Callable[[str], None] | None = None,
                     elsewhere: Mapping[str, Callable[[], StudyResults]] | None = None) -> StudyResults:
    """``results`` of the main study with every sensitivity variant's results attached.

    Parameters
    ----------
    study : cohortstat.spec.Study
    results : StudyResults
        The main analysis of ``study`` on ``cohort``.
    cohort : cohortstat.cohort.Cohort
        The main study's cohort (reused by variants that change only ``analyses``).
    build : callable, optional
        ``build(variant_study) -> cohort`` for variants that change the cohort (follow-up, inclusion,
        outcomes, covariates, comparison). Required when the study has such a variant.
    progress : callable, optional
    elsewhere : mapping of variant name to callable, optional
        Variants analysed elsewhere (e.g. in worker processes): ``elsewhere[name]()`` returns their
        results; it is called after every other variant was analysed here.

    Returns
    -------
    StudyResults
        With ``variants``: ``(name, StudyResults)`` in the order of the study file.

    Raises
    ------
    ValueError
        A variant needs its own cohort and no ``build`` was given.
    """
    from cohortstat.spec.variants import only_analyses_differ, resolve_variant

    elsewhere = elsewhere or {}
    done = {}
    for name in study.sensitivity:
        if name in elsewhere:
            continue
        variant = resolve_variant(study, name)
        if only_analyses_differ(study, variant):
            variant_cohort = cohort
        elif build is None:
            raise ValueError(f"sensitivity variant {name!r} changes the cohort: pass build= to build its cohort")
        else:
            if progress:
                progress(f"sensitivity {name}: build cohort")
            variant_cohort = build(variant)
        if progress:
            progress(f"sensitivity {name}: analyses")
        done[name] = analyze(variant, variant_cohort, progress=progress)
    for name, wait in elsewhere.items():
        done[name] = wait()
    return dataclasses.replace(results, variants=tuple((name, done[name]) for name in study.sensitivity))
