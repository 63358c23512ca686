"""The output scan's identifier join inside DuckDB gives the same identifiers as the list, per layout."""

from __future__ import annotations

import json

import pytest

from cohortstat.data.synth import generate
from cohortstat.report.suppression import scan_outputs
from cohortstat.sources.provenance import identifier_matcher, identifiers


@pytest.mark.parametrize("layout", ["pmsi", "snds", "omop"])
def test_matcher_finds_what_the_identifier_list_finds(tmp_path, layout):
    data = generate(300, 5, tmp_path / "data", layout=layout)
    ids = identifiers(data, layout)
    assert len(ids) > 100
    out = tmp_path / "out"
    out.mkdir()
    (out / "leak.json").write_text(json.dumps({"note": f"{ids[0]} and {ids[-1]} and NOTANID123"}))
    by_list = scan_outputs(out, 10, identifiers=ids)
    by_join = scan_outputs(out, 10, identifiers=identifier_matcher(data, layout))
    assert sorted(by_join) == sorted(by_list)
    assert len(by_join) == 2 and all("leak.json" in p for p in by_join)


def test_matcher_of_a_folder_that_is_not_data_finds_nothing(tmp_path):
    match = identifier_matcher(tmp_path)
    assert match({"P000001234", "ABCDEFGH"}) == set()
