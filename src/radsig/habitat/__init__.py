"""radsig.habitat."""
