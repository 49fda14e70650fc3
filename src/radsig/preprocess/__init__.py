"""radsig.preprocess."""
