"""Disclosure control of a whole report: every published count, what is derived from it, and what can be
solved from what is shown.

Rule (SNDS / CNIL publication rules): no count of persons or events from 1 to ``min_cell_count - 1`` is
published, directly or by calculation from anything published.

The report's numbers are put in one :class:`Ledger` before anything is written:

- a **count** is a variable with its true value (persons remaining after an attrition step, a Table 1
  cell, events of an outcome in a group, persons at risk at a year, a count in a note, an input row
  count). One variable may be shown in several places (*views*): the final cohort size appears in the
  attrition table, as the Patients row of Table 1 and in the matching note; it is hidden or shown
  everywhere at once;
- a **latent count** is a count that is never printed but can be calculated (patients excluded by
  matching, patients with a missing covariate level, patients leaving follow-up in a year, the pooled
  exclusions of several attrition steps);
- a **relation** is a linear equation between counts that a reader knows (levels sum to the group,
  ``n_{i-1} - n_i = excluded_i``, crude-model events = events of both groups, at-risk at year 0 = patients
  of the outcome). When the true values of a declared relation do not balance, the difference becomes
  a latent count (missing values, rows dropped), never an error;
- a **derived** statistic (percentage, SMD of a categorical variable, rate and its CI with the
  person-years, cumulative-incidence curve with the numbers at risk) names the counts it is computed from
  and is hidden whenever one of them is hidden (:meth:`Ledger.any_hidden`);
- everything else (hazard ratios, p-values, person-years, means) is **neither** and never suppressed.

:meth:`Ledger.solve` hides every count in ``1..k-1`` (primary suppression), then repeats: any count
(shown-as-hidden or latent) whose value the shown counts determine through the relations (linear algebra
on the relations, as an attacker would solve them), or any sum of hidden counts of one relation, that
lies in ``1..k-1`` makes it hide one more shown count (complementary suppression), chosen by the lowest
*cost* (totals are expensive, detail cells cheap) then the smallest value, until nothing small can be
solved for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["COUNT", "DERIVED", "MIN_CELL_COUNT", "NEITHER", "SECONDARY", "Ledger",
           "suppressed_label"]

#: The publication threshold of the SNDS rules; a lower one needs an explicit, logged override.
MIN_CELL_COUNT = 10

#: Kinds of published statistics.
COUNT, DERIVED, NEITHER = "count", "derived", "neither"
#: Text of a cell hidden by complementary suppression (its value is not small; it would reveal one that is).
SECONDARY = "*"
_TOL = 1e-8


def suppressed_label(min_cell_count: int) -> str:
    """The text shown in place of a small count: ``"<10"`` for the default."""
    return f"<{int(min_cell_count)}"


@dataclass
class _Var:
    value: int
    published: bool
    cost: int
    order: int


class Ledger:
    """The counts of one report, the relations between them, and which of them are hidden.

    Parameters
    ----------
    min_cell_count : int
    """

    def __init__(self, min_cell_count: int):
        self.k = int(min_cell_count)
        self.vars: dict[Hashable, _Var] = {}
        self.relations: list[dict[Hashable, float]] = []
        self.hidden: set[Hashable] = set()
        self.unresolved: list[Hashable] = []
        self._rows: dict = defaultdict(list)
        self.missing: set[Hashable] = set()
        self._latent_id = 0
        self._leak_memo: dict[frozenset, list] = {}

    # ------------------------------------------------------------------------------- declaring counts
    def count(self, key: Hashable, value, *, cost: int = 1) -> Hashable:
        """Declare a published count (idempotent: a second view of the same key adds nothing).

        A missing value (None, NaN) is published as missing and takes part in no relation.
        """
        if value is None or not np.isfinite(float(value)):
            self.missing.add(key)
            value = 0
        if key not in self.vars:
            self.vars[key] = _Var(int(round(float(value))), True, int(cost), len(self.vars))
        else:
            self.vars[key].cost = max(self.vars[key].cost, int(cost))
        return key

    def latent(self, key: Hashable, value) -> Hashable:
        """Declare a count that is never printed but may be calculated."""
        if key not in self.vars:
            self.vars[key] = _Var(int(round(float(value))), False, 0, len(self.vars))
        return key

    def value(self, key: Hashable) -> int:
        return self.vars[key].value

    def relate(self, terms: Mapping[Hashable, float], name: str = "rel") -> None:
        """Declare ``sum(coef * count) == 0``; an imbalance becomes a latent count (added with +1)."""
        terms = {k: float(c) for k, c in terms.items() if c}
        if any(k in self.missing for k in terms):
            return
        gap = -sum(c * self.vars[k].value for k, c in terms.items())
        if abs(gap) > 0.5:
            self._latent_id += 1
            key = ("latent", name, self._latent_id)
            if gap < 0:  # keep latent counts non-negative: flip the equation
                terms = {k: -c for k, c in terms.items()}
                gap = -gap
            self.latent(key, gap)
            terms[key] = 1.0
        if len(terms) >= 2:
            self.relations.append(terms)

    def total(self, total: Hashable, parts: Iterable[Hashable], name: str = "partition") -> None:
        """``total = sum(parts)`` (+ a latent remainder when the parts do not add up)."""
        terms: dict[Hashable, float] = defaultdict(float)
        terms[total] += 1.0
        for p in parts:
            terms[p] -= 1.0
        self.relate(terms, name)

    def chain(self, steps: list[Hashable], name: str = "chain", exclusions: list | None = None, *,
              spans: bool = True) -> None:
        """A decreasing chain (attrition, numbers at risk): every difference of two steps is a count.

        ``exclusions[i]`` (optional) is the published count ``steps[i-1] - steps[i]``; when absent the
        difference is latent. With ``spans``, differences over several steps are latent counts too
        (pooled exclusions); without, only pairs of adjacent steps are checked.
        """
        for i in range(1, len(steps)):
            exc = exclusions[i] if exclusions is not None else None
            if exc is None:
                exc = self.latent(("latent", name, "step", i, steps[i]), self.value(steps[i - 1]) - self.value(steps[i]))
            self.relate({steps[i - 1]: 1, steps[i]: -1, exc: -1}, name)
        for i in range(len(steps) if spans else 0):
            for j in range(i + 2, len(steps)):
                span = self.latent(("latent", name, "span", i, j, steps[i]), self.value(steps[i]) - self.value(steps[j]))
                self.relate({steps[i]: 1, steps[j]: -1, span: -1}, name)

    # ------------------------------------------------------------------------------------- querying
    def is_hidden(self, key: Hashable) -> bool:
        return key in self.hidden

    def any_hidden(self, keys: Iterable[Hashable]) -> bool:
        """True when a derived statistic of these counts must be hidden."""
        return any(k in self.hidden for k in keys)

    def show(self, key: Hashable):
        """The published form of a count: its value, ``"<k"`` or ``"*"``."""
        v = self.vars[key].value
        if key in self.missing:
            return None
        if key not in self.hidden:
            return v
        return suppressed_label(self.k) if 0 < v < self.k else SECONDARY

    def _small(self, v: float) -> bool:
        return 0.5 <= abs(v) < self.k - 0.5

    # ------------------------------------------------------------------------------------- solving
    def solve(self, max_rounds: int = 5000) -> set:
        """Primary then complementary suppression; returns the hidden published counts.

        The decompositions are small: one BLAS thread each is faster than several (and much faster when
        other work holds the cores).
        """
        with threadpool_limits(limits=1, user_api="blas"):
            return self._solve(max_rounds)

    def _solve(self, max_rounds: int) -> set:
        self._rows = defaultdict(list)
        self._leak_memo = {}
        for r, rel in enumerate(self.relations):
            for key in rel:
                self._rows[key].append(r)
        for key, var in self.vars.items():
            if var.published and 0 < var.value < self.k:
                self.hidden.add(key)
        for _ in range(max_rounds):
            target = self._first_leak()
            if target is None:
                return self.hidden
            if not self._protect(target):
                self.unresolved.append(target)
        return self.hidden

    def _unknown(self, key) -> bool:
        var = self.vars[key]
        return (not var.published) or key in self.hidden

    def _component(self, start: Iterable[Hashable], seen: set) -> tuple[list, list]:
        """The unknown counts connected to ``start`` through relations, and those relations."""
        stack = [k for k in start if k not in seen]
        seen.update(stack)
        cols, rows = [], set()
        while stack:
            c = stack.pop()
            cols.append(c)
            for r in self._rows.get(c, ()):
                if r in rows:
                    continue
                rows.add(r)
                for other in self.relations[r]:
                    if other not in seen and self._unknown(other):
                        seen.add(other)
                        stack.append(other)
        return cols, sorted(rows)

    def _null_space(self, cols: list, rows: list) -> tuple[np.ndarray, np.ndarray]:
        """Null space of the relations restricted to the unknown columns, and that matrix."""
        index = {c: i for i, c in enumerate(cols)}
        a = np.zeros((len(rows), len(cols)))
        for i, r in enumerate(rows):
            for key, coef in self.relations[r].items():
                j = index.get(key)
                if j is not None:
                    a[i, j] = coef
        if not rows:
            return np.eye(len(cols)), a
        _, s, vt = np.linalg.svd(a, full_matrices=True)
        rank = int((s > _TOL * max(1.0, s.max(initial=0.0))).sum())
        return vt[rank:].T, a

    def _leaks_in(self, cols: list, rows: list) -> list:
        null, a = self._null_space(cols, rows)
        vals = np.array([self.vars[c].value for c in cols], float)
        order = [self.vars[c].order for c in cols]
        size = np.abs(null).max(axis=1, initial=0.0) if null.shape[1] else np.zeros(len(cols))
        determined = size < 1e-7
        leaks = [(order[i], {c: 1.0}) for i, c in enumerate(cols) if determined[i] and self._small(vals[i])]
        # a sum of hidden counts of one relation (same sign) is a count itself: levels pooled together
        for i in range(a.shape[0]):
            nz = np.flatnonzero(np.abs(a[i]) > _TOL)
            if len(nz) >= 2 and (np.all(a[i, nz] > 0) or np.all(a[i, nz] < 0)) and self._small(vals[nz].sum()):
                leaks.append((min(order[j] for j in nz), {cols[j]: 1.0 for j in nz}))
        # a sum of two hidden counts determined through several relations (pooled attrition steps)
        if null.shape[1] and len(cols) > 1:
            free = np.flatnonzero(~determined)
            for pos, i in enumerate(free[:-1]):
                rest = free[pos + 1:]
                ok = np.abs(null[i] + null[rest]).max(axis=1) < 1e-7
                for j in rest[ok]:
                    if self._small(vals[i] + vals[j]):
                        leaks.append((order[i], {cols[i]: 1.0, cols[j]: 1.0}))
        return leaks

    def _first_leak(self):
        seen: set = set()
        tried = [set(u) for u in self.unresolved]
        for key in [k for k in self.vars if self._unknown(k)]:
            if key in seen or not self._rows.get(key):
                continue
            cols, rows = self._component([key], seen)
            for f in self._component_leaks(cols, rows):
                if set(f) not in tried:
                    return f
        return None

    def _component_leaks(self, cols: list, rows: list) -> list:
        """The leaks of one component, first first; a component's leaks depend only on its unknown counts
        (its relations are those that touch them), so they are kept until hiding a count changes them."""
        key = frozenset(cols)
        leaks = self._leak_memo.get(key)
        if leaks is None:
            leaks = [f for _, f in sorted(self._leaks_in(cols, rows), key=lambda t: t[0])]
            self._leak_memo[key] = leaks
        return leaks

    def _determined(self, f: Mapping[Hashable, float]) -> bool:
        cols, rows = self._component(f, set())
        null, _ = self._null_space(cols, rows)
        if null.shape[1] == 0:
            return True
        vec = np.zeros(len(cols))
        for key, coef in f.items():
            vec[cols.index(key)] = coef
        return bool(np.abs(vec @ null).max(initial=0.0) < 1e-7)

    def _candidates(self, f: Mapping[Hashable, float], near: bool = False) -> list:
        """Shown counts in the relations of ``f``'s component (or of ``f`` itself), cheapest first."""
        cols = list(f) if near else self._component(f, set())[0]
        cands = set()
        for c in cols:
            for r in self._rows.get(c, ()):
                cands.update(k for k in self.relations[r] if not self._unknown(k))
        if not near:  # and the counts that would tie a first one back (a second ring)
            for c in list(cands):
                for r in self._rows.get(c, ()):
                    cands.update(k for k in self.relations[r] if not self._unknown(k))
        return sorted(cands, key=lambda k: (self.vars[k].cost, self.vars[k].value == 0, self.vars[k].value,
                                             self.vars[k].order))

    def _helps(self, f: Mapping[Hashable, float], keys) -> bool:
        self.hidden.update(keys)
        ok = not self._determined(f)
        self.hidden.difference_update(keys)
        return ok

    def _protect(self, f: Mapping[Hashable, float]) -> bool:
        cands = self._candidates(f)
        cost = {c: self.vars[c].cost for c in cands}
        single = next((c for c in cands if self._helps(f, [c])), None)
        # two cheap counts may protect it where one count alone would be an expensive total
        limit = cost[single] if single is not None else float("inf")
        cheap = [c for c in cands if cost[c] < limit][:15]
        pairs = sorted(((cost[a] + cost[b], i, j) for i, a in enumerate(cheap) for j, b in enumerate(cheap)
                        if i < j and cost[a] + cost[b] < limit))
        for _, i, j in pairs:
            if self._helps(f, [cheap[i], cheap[j]]):
                self.hidden.update([cheap[i], cheap[j]])
                return True
        if single is not None:
            self.hidden.add(single)
            return True
        # no single count undoes it: hide the cheapest count sharing a relation with it and go on
        near = self._candidates(f, near=True) or cands
        if near:
            self.hidden.add(near[0])
            return True
        return False
