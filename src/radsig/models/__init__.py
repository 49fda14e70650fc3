"""radsig.models."""
