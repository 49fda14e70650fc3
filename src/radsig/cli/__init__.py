"""Command-line interface. Thin: parse options, validate config, call one library function."""
