"""One blueprint per endpoint family."""
