"""Names shared by every generated resource, so the template and the running code agree.

The functions read table and bucket names from `gridgate.config.Settings`
(``<prefix>-<stage>-<name>``); the template builds the very same names from two stack
parameters, ``TablePrefix`` and ``Stage``.
"""

from __future__ import annotations

import re

from gridgate.adapters.tables import ALL_TABLES, BaseTable

#: Functions as the Serverless service names them (``<service>-<stage>-<function>``).
SERVICE = "gridgate"
API_FUNCTION = "api"
GATE_FUNCTION = "gate"
FACES_FUNCTION = "faces"
#: Events out: the access-events stream consumer and the webhook retry schedule (same zip as the API).
EVENTS_FUNCTION = "events"
RETRIES_FUNCTION = "webhook-retries"

#: The data bucket's one prefix: the flows' Parquet snapshots of tables and of each day's access
#: events (`gridgate.adapters.parquet_exports`). Its lifecycle rule is the retention of that data.
SNAPSHOTS_PREFIX = "snapshots/"
#: Where the gate function keeps each estate's face gallery as one object (its cold start).
GALLERIES_PREFIX = "gate-galleries/"


def short_name(table: type[BaseTable]) -> str:
    """``persons`` for the table the app calls ``gridgate-<stage>-persons``, whatever the stage
    and prefix were when the models were imported (table names use ``_``, never ``-``)."""
    return table.Meta.table_name.rsplit("-", 1)[1]


def logical_id(table: type[BaseTable]) -> str:
    """CloudFormation logical id: ``face_templates`` -> ``FaceTemplatesTable``."""
    return "".join(part.capitalize() for part in re.split(r"[_-]", short_name(table))) + "Table"


def table_name_sub(table: type[BaseTable]) -> dict:
    return {"Fn::Sub": "${TablePrefix}-${Stage}-" + short_name(table)}


def table_by_short_name() -> dict[str, type[BaseTable]]:
    return {short_name(table): table for table in ALL_TABLES}
