"""Domain model and rules: plain Python, importable without any AWS library."""
