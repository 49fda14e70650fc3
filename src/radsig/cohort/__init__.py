"""radsig.cohort."""
