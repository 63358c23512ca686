"""Every file of bad_studies/ fails with exactly the located errors its `# expect:` lines name."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohortstat.errors import SpecError
from cohortstat.spec import load_study

from .conftest import BAD_DIR

BAD_FILES = sorted(BAD_DIR.glob("*.yaml"))


def expectations(path: Path) -> list[tuple[str, str]]:
    """``(location, message substring)`` pairs from the file's ``# expect: loc :: message`` lines."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect: "):
            loc, _, msg = line.removeprefix("# expect: ").partition(" :: ")
            out.append((loc.replace("{path}", str(path)), msg))
    return out


def test_there_are_at_least_fifteen_distinct_bad_files():
    assert len(BAD_FILES) >= 15
    assert len({p.read_bytes() for p in BAD_FILES}) == len(BAD_FILES)
    assert all(expectations(p) for p in BAD_FILES)


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_file_reports_every_located_error(path):
    expected = expectations(path)
    with pytest.raises(SpecError) as info:
        load_study(path)
    errors = info.value.errors
    assert len(errors) == len(expected), errors
    for loc, msg in expected:
        assert any(e_loc == loc and msg in e_msg for e_loc, e_msg in errors), (loc, msg, errors)
        assert f"{loc}: " in str(info.value)
