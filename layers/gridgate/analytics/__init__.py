"""Analytics: the polars/SQL computations over the Parquet exports (population statistics,
key-group alerts, reconciliation's checks, the plan of verification tasks), the statistics
report and the CSV export.
Flows and the CLI use it; the API package ships without it.
"""
