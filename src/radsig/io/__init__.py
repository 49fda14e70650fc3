"""radsig.io."""
