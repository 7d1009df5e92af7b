"""gridgate: the shared package every function and flow imports (shipped to Lambda as a layer).

Lower packages never import higher ones (import-linter contracts in pyproject.toml):

- `domain`   the model and the rules (no AWS imports); `config`, `clock`, `i18n`, `refusals` beside it
- `security` identifier protection, keys and signatures; `faces` and `qr` the pure image computations
- `adapters` the only place that knows DynamoDB, S3, Parquet and the SQL engines
- the wings, one question each: `gate` (who may pass; `gate/device` runs on the gate), `residents`
  (who has which right), `registry` (the data center's export in), `grid_work` (a grid worker's
  task), `analytics` (the nightly polars/SQL computations; never in the API), `data_center` (the
  overview page), `operations` (key rotation)
"""
