"""radsig.synth."""
