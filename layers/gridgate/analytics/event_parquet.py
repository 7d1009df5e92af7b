"""An events export as a Parquet file: the data center's CLI export (the API answers CSV).

It lives in analytics because it needs pyarrow, which the API's zip does not ship; the columns
are the scope's own (`events_out.event_extract.event_record_columns` for access events,
`events_out.finding_records.finding_columns` for findings and alerts), so both formats agree.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq


def render_parquet(rows: list[dict], columns: Sequence[str]) -> bytes:
    """`rows` as one Parquet file: every column text, but the score a float."""
    schema = pa.schema([(name, pa.float64() if name == "score" else pa.string()) for name in columns])
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), sink)
    return sink.getvalue()
