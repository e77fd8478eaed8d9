"""The command line: flags in, one call into the packages, a renderer, an exit code."""
