"""Prefect flows: nightly reconciliation, verification-task generation, statistics and alerts.

Flows are thin: they load the city in bulk (`flows.city_data`), call the pure computations in
`gridgate.analytics` (and the registry's and grid work's use cases), and write results through the repositories. `flows.deployments` schedules
them; `flows.run_all.run_nightly` runs all three once (the demo).
"""
