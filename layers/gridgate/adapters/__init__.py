"""Storage adapters: the only place that knows about DynamoDB and S3."""
