"""The disclosure ledger: primary and complementary suppression solved over relations between counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohortstat.report.disclosure import SECONDARY, Ledger
from cohortstat.report.protect import coarsen_cif


def _partition(values, total_cost=100):
    led = Ledger(10)
    total = led.count("total", sum(values), cost=total_cost)
    cells = [led.count(("cell", i), v, cost=2) for i, v in enumerate(values)]
    led.total(total, cells)
    led.solve()
    return led, cells


def test_a_single_small_cell_of_a_partition_takes_the_smallest_other_cell_with_it():
    led, cells = _partition([3, 50, 47])
    assert [led.show(c) for c in cells] == ["<10", 50, SECONDARY]
    assert led.show("total") == 100


def test_two_small_cells_whose_sum_is_small_need_a_third():
    led, cells = _partition([2, 3, 40, 60])
    shown = [led.show(c) for c in cells]
    assert shown[:2] == ["<10", "<10"] and shown[2] == SECONDARY and shown[3] == 60


def test_zero_and_large_cells_are_shown():
    led, cells = _partition([0, 20, 30])
    assert [led.show(c) for c in cells] == [0, 20, 30]
    assert led.hidden == set()


def test_a_missing_level_is_a_latent_count_that_must_not_be_derivable():
    # levels 40 + 55 of a group of 100: 5 persons have no level, shown total - shown levels reveals them
    led = Ledger(10)
    total = led.count("total", 100, cost=100)
    cells = [led.count(("cell", i), v) for i, v in enumerate((40, 55))]
    led.total(total, cells)
    led.solve()
    assert any(led.is_hidden(c) for c in cells)
    assert led.show("total") == 100


def test_attrition_chain_pools_a_small_exclusion_until_the_revealed_total_is_safe():
    led = Ledger(10)
    n = [led.count(("n", i), v, cost=50 if i == 0 else (100 if i == 3 else 5)) for i, v in enumerate((100, 97, 95, 60))]
    exc = [None] + [led.count(("e", i), a - b, cost=4) for i, (a, b) in enumerate(zip((100, 97, 95), (97, 95, 60)), 1)]
    led.chain(n, "attrition", exc)
    led.solve()
    shown = {k: led.show(k) for k in led.vars if led.vars[k].published}
    # the two small exclusions are hidden, and no shown pair of steps brackets them alone
    assert shown[("e", 1)] == "<10" and shown[("e", 2)] == "<10"
    assert shown[("n", 0)] == 100 and shown[("n", 3)] == 60
    assert shown[("n", 1)] == SECONDARY and shown[("n", 2)] == SECONDARY
    assert shown[("e", 3)] == SECONDARY  # else 100 - 60 - e3 would give e1 + e2 = 5


def test_the_same_count_shown_twice_is_one_variable_hidden_everywhere():
    # the final cohort: attrition row and Table 1 total; outcome patients + not at risk = cohort
    led = Ledger(10)
    cohort = led.count("cohort", 130, cost=100)
    n_out = led.count("n_outcome", 123, cost=10)
    not_at_risk = led.count("not_at_risk", 7)
    led.total(cohort, [n_out, not_at_risk])
    model_n = led.count("model_n", 123 + 800, cost=3)
    other = led.count("n_outcome_other", 800, cost=10)
    led.total(model_n, [n_out, other])
    led.solve()
    assert led.show("not_at_risk") == "<10"
    assert led.is_hidden(n_out) and led.is_hidden(model_n)  # else 130 - 123 or 923 - 800 reveals 7
    assert led.show("cohort") == 130 and led.show(other) == 800


def test_any_hidden_marks_derived_statistics():
    led, cells = _partition([3, 50, 47])
    assert led.any_hidden([cells[0], "total"]) and not led.any_hidden([cells[1], "total"])


def test_relations_of_only_shown_counts_hide_nothing():
    led = Ledger(10)
    a, b, c = (led.count(x, v) for x, v in (("a", 10), ("b", 20), ("c", 30)))
    led.total(c, [a, b])
    assert led.solve() == set()


def test_coarsened_cumulative_incidence_steps_hold_at_least_k_events():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 3000, 60))
    d = rng.integers(1, 3, 60)
    n_risk = np.linspace(800, 5, 60).round()
    cif = pd.DataFrame({"time": t, "n_risk": n_risk, "n_event": d, "estimate": np.cumsum(d) / 900})
    corners = coarsen_cif(cif, 10)
    kept = cif.loc[cif["n_risk"] >= 10]
    bounds = np.searchsorted(kept["time"].to_numpy(), corners["time"].to_numpy(), side="right")
    pools = np.diff(np.concatenate([[0], bounds]))
    events = [kept["n_event"].to_numpy()[a:b].sum() for a, b in zip(np.concatenate([[0], bounds[:-1]]), bounds)]
    assert len(corners) >= 2 and (pools > 0).all()
    assert min(events) >= 10
    # each corner is the exact estimate at its time
    assert np.allclose(corners["estimate"], cif.set_index("time").loc[corners["time"], "estimate"])
    assert coarsen_cif(cif.iloc[:3], 10).empty  # fewer than k events: no step at all


def test_public_fingerprint_hides_small_input_row_counts():
    from cohortstat.report.published import public_fingerprint

    fp = {"patients": {"rows": 6, "content_hash": "1"}, "stays": {"rows": 0, "content_hash": "2"},
          "diagnoses": {"rows": 40, "content_hash": "3"}}
    pub = public_fingerprint(fp, 10)
    assert pub["patients"] == {"rows": "<10", "content_hash": "1"}
    assert pub["stays"]["rows"] == 0 and pub["diagnoses"]["rows"] == 40


def test_a_missing_count_is_published_as_missing_and_relates_to_nothing():
    led = Ledger(10)
    total = led.count("total", 100)
    gone = led.count("gone", float("nan"))
    part = led.count("part", 97)
    led.total(total, [gone, part])
    led.solve()
    assert led.show(gone) is None and led.show(part) == 97 and led.show(total) == 100


class _Unmemoised(Ledger):
    """The ledger without its per-component memory of leaks: every round recomputes every component."""

    def _component_leaks(self, cols, rows):
        return [f for _, f in sorted(self._leaks_in(cols, rows), key=lambda t: t[0])]


def _table_with_margins(cls, rng, n_rows, n_cols):
    """A two-way table of counts with row totals, column totals, a grand total and an attrition chain."""
    led = cls(10)
    cells = rng.integers(0, 40, size=(n_rows, n_cols))
    keys = [[led.count(("c", i, j), cells[i, j], cost=1) for j in range(n_cols)] for i in range(n_rows)]
    rows = [led.count(("r", i), cells[i].sum(), cost=5) for i in range(n_rows)]
    cols = [led.count(("k", j), cells[:, j].sum(), cost=5) for j in range(n_cols)]
    grand = led.count("grand", cells.sum(), cost=50)
    for i in range(n_rows):
        led.total(rows[i], keys[i])
    for j in range(n_cols):
        led.total(cols[j], [keys[i][j] for i in range(n_rows)])
    led.total(grand, rows)
    steps = [led.count(("step", s), cells.sum() + int(x), cost=20)
             for s, x in enumerate(np.cumsum(rng.integers(0, 15, size=4))[::-1])]
    led.chain(steps + [grand])
    return led


def test_remembering_component_leaks_changes_no_hidden_cell():
    rng_seeds = range(12)
    for seed in rng_seeds:
        fast = _table_with_margins(Ledger, np.random.default_rng(seed), 4, 5)
        slow = _table_with_margins(_Unmemoised, np.random.default_rng(seed), 4, 5)
        assert fast.solve() == slow.solve()
        assert fast.unresolved == slow.unresolved
