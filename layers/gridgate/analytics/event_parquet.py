"""An events export as a Parquet file: the data center's CLI export (the API answers CSV).

It lives in analytics because it needs pyarrow, which the API's zip does not ship; the columns
are the scope's own (`events_out.event_extract.event_record_columns`), so both formats agree.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from gridgate.events_out.event_extract import event_record_columns
from gridgate.events_out.event_scope import Scope


def render_parquet(rows: list[dict], scope: Scope) -> bytes:
    """`rows` as one Parquet file: every column text, but the score a float."""
    schema = pa.schema(
        [(name, pa.float64() if name == "score" else pa.string()) for name in event_record_columns(scope)]
    )
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), sink)
    return sink.getvalue()
