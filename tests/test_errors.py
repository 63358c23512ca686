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


def test_run_interrupted_is_a_keyboard_interrupt_with_the_shell_exit_code():
    import signal

    from cohortstat.interrupts import RunInterrupted

    err = RunInterrupted(signal.SIGTERM)
    assert isinstance(err, KeyboardInterrupt) and not isinstance(err, Exception)
    assert err.exit_code == 143 and RunInterrupted(signal.SIGINT).exit_code == 130
    assert "SIGTERM" in str(err) and "nothing was written" in str(err)
