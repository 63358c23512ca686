import pytest

from cohortstat.errors import CohortstatError, SpecError


def test_spec_error_lists_every_location():
    err = SpecError([("outcomes.lung.concept_set", "unknown concept set 'lungg'"), ("title", "too long")])
    assert isinstance(err, CohortstatError)
    assert err.errors[0][0] == "outcomes.lung.concept_set"
    text = str(err)
    assert "2 errors" in text
    assert "outcomes.lung.concept_set: unknown concept set 'lungg'" in text


def test_spec_error_from_plain_message():
    with pytest.raises(SpecError, match="1 error:"):
        raise SpecError("not a mapping")
