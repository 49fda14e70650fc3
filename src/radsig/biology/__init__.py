"""radsig.biology."""
