"""radsig.select."""
