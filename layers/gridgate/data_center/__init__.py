"""The data center's page: the overview read model and its SVG charts (no polars: the API serves it)."""
