"""radsig.deep."""
