"""radsig.report."""
