"""radsig.study: the study runner behind `radsig study` and `radsig demo`."""
