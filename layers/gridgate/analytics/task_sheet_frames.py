"""Every grid's task sheets from one frame of tasks, column-wise: the nightly flow's copy.

`gridgate.grid_work.task_sheets` renders one list in plain Python, row by row — the
grid-worker function's path, which ships without a dataframe library. At a city's size (about
171 k open tasks in 621 grids at 1 M persons) that costs the flow seconds every night, most of
it in Python objects and string formatting per row. Here polars fills the same templates for
every task of every grid at once: the walking order is one sort, the escaping one pass per
column, each grid's rows one join. The templates are task_sheets' own (`SHEET_COLUMNS`,
`ROW_HTML`, `page_html`, the catalogue's ``sheet.place``), and each grid's CSV and page are
byte for byte what task_sheets renders for that grid's list (held equal on hostile text by
tests/flows/test_task_sheet_frames.py). Like the flow's copy it names nobody: the person
column says "whole home" and the codes stay in small print.
"""

from __future__ import annotations

import html
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import polars as pl

from gridgate.domain.model import VerificationTask
from gridgate.grid_work.task_sheets import ROW_HTML, SHEET_COLUMNS, page_parts, result_boxes
from gridgate.i18n import Translator, translator

#: The columns a frame of tasks carries (`tasks_frame` builds one from domain tasks); a null
#: explanation reads as the task's summary.
SHEET_FRAME_SCHEMA = {
    "grid_id": pl.String,
    "task_id": pl.String,
    "priority": pl.Int64,
    "estate_id": pl.String,
    "building_id": pl.String,
    "unit": pl.String,
    "floor": pl.Int64,
    "room": pl.String,
    "home_id": pl.String,
    "person_id": pl.String,
    "finding_type": pl.String,
    "summary": pl.String,
    "status": pl.String,
    "explanation": pl.String,
}

#: task_sheets.walking_key as sort columns (priority, the walk, the task id), within a grid.
_WALK = ["grid_id", "priority", "estate_id", "building_id", "unit", "floor", "room", "task_id"]

#: What `html.escape` replaces (quotes too), in one pass.
_HTML_SPECIAL = ["&", "<", ">", '"', "'"]
_HTML_ESCAPED = ["&amp;", "&lt;", "&gt;", "&quot;", "&#x27;"]


@dataclass(frozen=True)
class GridSheets:
    """One grid's open list as CSV and as its printable page, UTF-8 encoded (as they are stored)."""

    grid_id: str
    open_tasks: int
    csv: bytes
    html: bytes


def template(text: str, slots: dict[str, pl.Expr]) -> pl.Expr:
    """`text.format(**slots)` column-wise (plain ``{name}`` fields only, as the templates use)."""
    parts: list[pl.Expr] = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        if literal:
            parts.append(pl.lit(literal))
        if name is not None:
            if spec or conversion:
                raise ValueError(f"template field {{{name}}} has a format the columns cannot follow: {text!r}")
            parts.append(slots[name])
    return pl.concat_str(parts) if parts else pl.lit("")


def _escaped(column: str | pl.Expr) -> pl.Expr:
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.str.replace_many(_HTML_SPECIAL, _HTML_ESCAPED)


def _csv_cell(column: str) -> pl.Expr:
    """Quoted as Python's csv writer quotes with a newline terminator (a comma, a quote or a newline);
    a number as it is."""
    if SHEET_FRAME_SCHEMA.get(column, pl.Int64) == pl.Int64:  # the order, the priority, the floor
        return pl.col(column).cast(pl.String)
    text = pl.col(column).fill_null("")
    quoted = pl.lit('"') + text.str.replace_all('"', '""', literal=True) + pl.lit('"')
    return pl.when(text.str.contains(r'[,"\n]')).then(quoted).otherwise(text)


#: Rows rendered at a time (whole grids): the strings of a batch are about 0.8 KB per task, so
#: memory stays flat however large the city (4 M persons: about 680 k tasks in 2,500 grids).
BATCH_ROWS = 10_000


def _row_columns(t: Translator) -> tuple[pl.Expr, pl.Expr]:
    """A numbered task's CSV line and page row, as expressions over SHEET_FRAME_SCHEMA + order."""
    prefix = "finding."
    finding_names = {  # escaped type -> escaped name: a handful of types, escaped here once
        html.escape(key.removeprefix(prefix)): html.escape(text)
        for key, text in t.messages.items()
        if key.startswith(prefix)
    }
    finding_type = _escaped("finding_type")
    place = template(
        t.messages["sheet.place"],
        {
            "estate": pl.col("estate_id"),
            "building": pl.col("building_id"),
            "unit": pl.col("unit"),
            "floor": pl.col("floor").cast(pl.String),
            "room": pl.col("room"),
        },
    )
    codes = pl.concat_str(
        [pl.when(pl.col(c) != "").then(pl.col(c)) for c in ("home_id", "person_id")], separator=" · ", ignore_nulls=True
    )
    row_html = template(
        ROW_HTML,
        {
            "order": pl.col("order").cast(pl.String),
            "priority": pl.col("priority").cast(pl.String),
            "place": _escaped(place),
            "who": pl.lit(html.escape(t("sheet.whole_home"))),
            "codes": _escaped(codes),
            "what": finding_type.replace(finding_names),
            "explanation": _escaped("explanation"),
            "finding_type": finding_type,
            "task_id": _escaped("task_id"),
            "boxes": pl.lit(result_boxes(t)),
        },
    )
    csv_line = pl.concat_str([_csv_cell(c) for c in SHEET_COLUMNS], separator=",") + pl.lit("\n")
    return csv_line.alias("csv"), row_html.alias("html")


def _batches(walk: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """`walk` (sorted by grid) in slices of whole grids of about BATCH_ROWS rows."""
    sizes = walk.group_by("grid_id", maintain_order=True).len()["len"].to_list()
    start = rows = 0
    for size in sizes:
        if rows and rows + size > BATCH_ROWS:
            yield walk.slice(start, rows)
            start, rows = start + rows, 0
        rows += size
    if rows:
        yield walk.slice(start, rows)


def render_sheets(tasks: pl.DataFrame, day: date, locale: str | None = None) -> Iterator[GridSheets]:
    """Each grid's sheets, grids in id order, for the open tasks in `tasks` (SHEET_FRAME_SCHEMA)."""
    t = translator(locale)
    csv_line, row_html = _row_columns(t)
    header = (",".join(SHEET_COLUMNS) + "\n").encode()
    walk = tasks.select([pl.col(c).cast(kind) for c, kind in SHEET_FRAME_SCHEMA.items()]).sort(_WALK)
    for batch in _batches(walk):
        # rows first, over the whole batch; a grid then only joins its own (an expression inside
        # the aggregation would be evaluated grid by grid). Bytes out: a str per grid would be
        # decoded only to be encoded again on the way to storage.
        numbered = batch.with_columns(
            (pl.int_range(pl.len()).over("grid_id") + 1).alias("order"),
            pl.col("person_id").fill_null(""),
            pl.coalesce("explanation", "summary").alias("explanation"),
        )
        grids = (
            numbered.select("grid_id", csv_line, row_html)
            .group_by("grid_id", maintain_order=True)
            .agg(pl.len().alias("open_tasks"), pl.col("csv").str.join(""), pl.col("html").str.join(""))
            .with_columns(pl.col("csv", "html").cast(pl.Binary))
        )
        for grid_id, count, csv, body in grids.iter_rows():
            head, tail = page_parts(t, grid_id, day, count)
            yield GridSheets(grid_id, count, header + csv, head.encode() + body + tail.encode())


def tasks_frame(tasks: Iterable[VerificationTask], reasons: dict[str, str] | None = None) -> pl.DataFrame:
    """A SHEET_FRAME_SCHEMA frame of domain tasks (as read back from the task table), each with
    its reason from `reasons` (task id -> text) where it has one."""
    reasons = reasons or {}
    return pl.DataFrame(
        [
            (
                task.grid_id,
                task.task_id,
                task.priority,
                *task.walking_order,
                task.home_id,
                task.person_id,
                task.finding_type,
                task.summary,
                task.status.value,
                reasons.get(task.task_id),
            )
            for task in tasks
        ],
        schema=SHEET_FRAME_SCHEMA,
        orient="row",
    )
