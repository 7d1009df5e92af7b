"""Deployment definitions: CloudFormation resources and IAM generated from the code they serve.

`python -m infra.generate` writes `infra/cloudformation/*.json` and the Chalice policy file;
`tests/deploy` fails when the checked-in files differ from what the generator produces.
"""
