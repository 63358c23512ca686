"""Shared fixtures of the data tests: one generated 100k-patient dataset per session."""

from __future__ import annotations

import pytest

from cohortstat.data import synth

N_LARGE, SEED_LARGE = 100_000, 20260101


@pytest.fixture(scope="session")
def large_dir(tmp_path_factory):
    """100,000 synthetic patients (about 2 s)."""
    return synth.generate(N_LARGE, SEED_LARGE, tmp_path_factory.mktemp("synth100k"))


@pytest.fixture(scope="session")
def large_truth():
    """The ground-truth analysis table of ``large_dir``."""
    return synth.ground_truth_table(N_LARGE, SEED_LARGE)


#: seed and size of the planted-design tests (docs/synthetic-data.md: z-scores over 10 seeds)
N_DESIGN, SEED_DESIGN = 100_000, 3


@pytest.fixture(scope="session")
def design_truth():
    """Ground-truth table (sepsis vs trauma) for the planted design effects."""
    return synth.ground_truth_table(N_DESIGN, SEED_DESIGN)


@pytest.fixture(scope="session")
def nonsevere_truth():
    """Ground-truth table of sepsis vs nonsevere infection (latent groups)."""
    return synth.ground_truth_table(N_DESIGN, SEED_DESIGN, reference="nonsevere_infection")
