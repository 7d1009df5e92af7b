"""The local emulator: moto's server as DynamoDB and S3 on loopback, plus a synthetic city."""
