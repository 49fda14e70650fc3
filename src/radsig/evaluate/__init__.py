"""radsig.evaluate."""
