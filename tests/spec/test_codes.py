import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohortstat.spec.codes import (
    CODE_PATTERN,
    canonical_codes,
    canonical_prefixes,
    exclusion_problems,
    expand_range,
    is_code,
    matches,
    parse_item,
)


def test_three_character_range_crosses_letters_like_chapter_xix():
    codes = canonical_codes(["S00-T14"])
    assert len(codes) == 100 + 15
    assert codes[:2] == ("S00", "S01") and codes[99] == "S99" and codes[100] == "T00" and codes[-1] == "T14"


def test_simple_ranges_and_prefixes():
    assert canonical_codes(["C33-C34"]) == ("C33", "C34")
    assert canonical_codes(["C00-C14"]) == tuple(f"C{i:02d}" for i in range(15))
    assert canonical_codes(["C340-C343"]) == ("C340", "C341", "C342", "C343")
    assert canonical_codes(["C0-C2"]) == ("C0", "C1", "C2")
    assert canonical_codes(["R572", "A41", "A40"]) == ("A40", "A41", "R572")


def test_canonical_drops_prefixes_covered_by_a_shorter_one_and_duplicates():
    assert canonical_codes(["C341", "C34", "C33-C34", "C340-C343", "C34"]) == ("C33", "C34")
    assert canonical_prefixes(["C3", "C30", "C4", "C41", "D0"]) == ("C3", "C4", "D0")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("c34", "ICD-10 codes are upper case: 'C34'"),
        ("R65.0", "without the dot: 'R650'"),
        ("C34; DROP TABLE x", "malformed ICD-10 code 'C34; DROP TABLE x': an ICD-10 code is an upper-case"),
        ("C34 ", "malformed ICD-10 code 'C34 '"),
        ("'C34'", "malformed ICD-10 code"),
        ("", "malformed ICD-10 code ''"),
        ("C", "malformed ICD-10 code 'C'"),
        ("C34567", "malformed ICD-10 code 'C34567'"),
        ("3C4", "malformed ICD-10 code '3C4'"),
        ("C33-C34-C35", "malformed ICD-10 code 'C33-C34-C35'"),
        ("C34-C33", "range 'C34-C33' is inverted"),
        ("C3-C341", "mixes code lengths (2 and 4 characters)"),
        ("C3A-C3B", "2- and 3-character range ends must be a letter followed by digits"),
        ("C340-C350", "must share all characters but the last"),
        ("C34A-C34B", "must share all characters but the last, which must be a digit"),
    ],
)
def test_bad_items_are_rejected_with_the_rule(item, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_item(item)


def test_non_text_items_are_rejected():
    with pytest.raises(ValueError, match="expected an ICD-10 code as text, got int 34"):
        parse_item(34)


def test_exclusion_problems():
    assert exclusion_problems(("C43", "C44"), ("C449",)) == []
    assert "removes the whole include prefix 'C44'" in exclusion_problems(("C43", "C44"), ("C44",))[0]
    assert "not within any include prefix" in exclusion_problems(("C43",), ("D22",))[0]


def test_matches_prefix_semantics():
    include, exclude = canonical_codes(["C43", "C44"]), canonical_codes(["C449"])
    assert matches("C439", include, exclude)
    assert matches("C44", include, exclude)
    assert not matches("C449", include, exclude)
    assert not matches("C4491", include, exclude)
    assert not matches("C45", include, exclude)


codes = st.from_regex(CODE_PATTERN, fullmatch=True)
short = st.from_regex(r"[A-Z][0-9]{2}", fullmatch=True)


@given(st.lists(codes, min_size=1, max_size=30))
def test_canonical_is_idempotent_prefix_free_and_keeps_meaning(items):
    canon = canonical_codes(items)
    assert canon == tuple(sorted(set(canon)))
    assert canonical_codes(canon) == canon
    assert not any(a != b and b.startswith(a) for a in canon for b in canon)
    # A code matches the canonical list exactly when it matches the original one.
    for code in items + [c + "9" for c in items if len(c) < 5]:
        assert code.startswith(tuple(items)) == code.startswith(canon)


@settings(max_examples=200)
@given(short, short)
def test_three_character_ranges_expand_to_every_category_between(a, b):
    lo, hi = min(a, b), max(a, b)
    expanded = expand_range(lo, hi)
    assert all(is_code(c) and len(c) == 3 for c in expanded)
    assert expanded[0] == lo and expanded[-1] == hi
    assert list(expanded) == sorted(expanded)
    letters = ord(hi[0]) - ord(lo[0])
    assert len(expanded) == letters * 100 + int(hi[1:]) - int(lo[1:]) + 1


def test_oversized_lists_are_refused_before_expansion():
    from cohortstat.spec.codes import MAX_PREFIXES

    items = ["A00-Z99", "A0-Z9", "A00-Z98", "A00-Z97", "A00-Z96"]
    with pytest.raises(ValueError, match=f"more than {MAX_PREFIXES}; use shorter prefixes"):
        canonical_codes(items)
    assert len(canonical_codes(["A00-Z99"] * 50)) == 2600  # repeated items count once


@given(st.lists(codes, min_size=1, max_size=20), st.lists(codes, max_size=20))
def test_exclusion_problems_agree_with_the_definition(include, exclude):
    inc, exc = canonical_codes(include), canonical_codes(exclude) if exclude else ()
    problems = exclusion_problems(inc, exc)
    valid = [e for e in exc if any(e.startswith(i) and e != i for i in inc) and not any(i.startswith(e) for i in inc)]
    assert len(problems) == len(exc) - len(valid)
