"""radsig.config."""
