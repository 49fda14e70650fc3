"""radsig.features."""
