"""Use cases: thin functions over the domain and the repositories."""
