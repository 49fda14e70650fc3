"""radsig.harmonize."""
