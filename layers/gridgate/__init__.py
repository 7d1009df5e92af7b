"""gridgate: the shared package every function and flow imports (shipped to Lambda as a layer).

- `domain`   the model and the rules (no AWS imports)
- `adapters` DynamoDB tables, repositories, S3 and event export
- `security` identifier protection, keys and signatures
- `services` thin use cases the functions and flows call
"""
