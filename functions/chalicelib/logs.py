"""The API's one Powertools logger: every module logs through it, so every line of a request carries
the keys `errors.problem_middleware` binds for that request (``correlation_id`` = the request id,
``path``, ``method``). Separate `Logger` instances per module would each need the keys bound.
"""

from aws_lambda_powertools import Logger

logger = Logger(service="gridgate-api")
