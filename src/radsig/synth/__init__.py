"""radsig.synth: the synthetic multi-centre immunotherapy cohort of ``radsig demo``."""

from __future__ import annotations

from radsig.synth.cohort import COHORTS, DemoCohort, make_demo_cohort

__all__ = ["COHORTS", "DemoCohort", "make_demo_cohort"]
