"""A grid's task list as a grid worker takes it out: ordered, as CSV and as a printable page.

The order is the one rule for every form of the list (API JSON, CSV, printable page, Prefect
artifact): priority first, then the walk through the grid — estate, building, unit, floor,
door. Rows carry ids and places; given `TaskListDetails` (an authorised reader's, whose name
reads were audited: `task_list_details`) they also carry the person's name, the estate's name
and the reason in the reader's language, and the codes move to small print. Without details
(the flow's copy in S3) a sheet names nobody. Never ID numbers. Plain Python (no dataframe
library), because the grid-worker function renders it too; the nightly flow fills the same
templates column-wise for a whole city (`gridgate.analytics.task_sheet_frames`).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from gridgate.domain.model import VerificationTask
from gridgate.i18n import FONT_STACK, Translator, translator

SHEET_COLUMNS = (
    "order",
    "priority",
    "estate_id",
    "building_id",
    "unit",
    "floor",
    "room",
    "home_id",
    "person_id",
    "finding_type",
    "summary",
    "task_id",
    "status",
)

_PRINT_CSS = """
body { font: 11pt/1.35 FONT_STACK; margin: 1.5cm; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
p.meta { color: #444; margin: 0 0 1em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #eee; }
tr { page-break-inside: avoid; }
td.p1 { font-weight: bold; color: #a00; }
td.result { white-space: nowrap; width: 9em; }
@media print { body { margin: 1cm; } }
""".replace("FONT_STACK", FONT_STACK)


@dataclass(frozen=True)
class TaskListDetails:
    """person id -> name, estate id -> name, task id -> reason (empty maps: codes only)."""

    person_names: dict[str, str] = field(default_factory=dict)
    estate_names: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


def walking_key(task: VerificationTask) -> tuple:
    """Priority, then estate, building, unit, floor (numeric), door; the task id breaks ties."""
    estate, building, unit, floor, room = task.walking_order
    return (task.priority, str(estate), str(building), str(unit), int(floor), str(room), task.task_id)


def ordered(tasks: Iterable[VerificationTask]) -> list[VerificationTask]:
    return sorted(tasks, key=walking_key)


def rows(tasks: Iterable[VerificationTask], details: TaskListDetails | None = None, first: int = 1) -> list[dict]:
    """The numbered rows of a list, in walking order (with names and reasons if `details`); `first`
    numbers the first row (a later page of a list)."""
    details = details or TaskListDetails()
    out = []
    for number, task in enumerate(ordered(tasks), start=first):
        estate, building, unit, floor, room = task.walking_order
        out.append(
            {
                "order": number,
                "priority": task.priority,
                "estate_id": estate,
                "building_id": building,
                "unit": unit,
                "floor": int(floor),
                "room": room,
                "home_id": task.home_id,
                "person_id": task.person_id or "",
                "finding_type": task.finding_type,
                "summary": task.summary,
                "task_id": task.task_id,
                "status": task.status.value,
                "person_name": details.person_names.get(task.person_id or "", ""),
                "estate_name": details.estate_names.get(estate, ""),
                "explanation": details.reasons.get(task.task_id, task.summary),
            }
        )
    return out


def to_csv(tasks: Iterable[VerificationTask], first: int = 1) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SHEET_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows(tasks, first=first))
    return buffer.getvalue()


#: One row of the printable page; `to_html` fills it per task and
#: `gridgate.analytics.task_sheet_frames` column-wise for a whole city (every slot HTML-escaped
#: but the numbers and the result boxes).
ROW_HTML = (
    "<tr>"
    "<td>{order}</td>"
    '<td class="p{priority}">{priority}</td>'
    "<td>{place}</td>"
    "<td><b>{who}</b><br><small>{codes}</small></td>"
    "<td><b>{what}</b><br>{explanation}<br><small>{finding_type}</small></td>"
    "<td><small>{task_id}</small></td>"
    '<td class="result">{boxes}</td>'
    "</tr>"
)


def result_boxes(t: Translator) -> str:
    """The three tick boxes a worker marks at the door."""
    return "<br>".join(f"&#9744; {html.escape(t(f'result.{r}'))}" for r in ("confirmed", "corrected", "not_reachable"))


def page_parts(t: Translator, grid_id: str, day: date, count: int) -> tuple[str, str]:
    """What comes before and after a list's rows on its page (`count` rows)."""
    columns = ("order", "priority", "place", "home_person", "what", "task", "result")
    header = "".join(f"<th>{html.escape(t(f'sheet.col.{c}'))}</th>" for c in columns)
    title = html.escape(t("sheet.title", grid=grid_id))
    meta = html.escape(t("sheet.meta", day=day.isoformat(), count=count))
    head = (
        f'<!doctype html><html lang="{t.html_lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_PRINT_CSS}</style></head><body>"
        f'<h1>{title}</h1><p class="meta">{meta}</p>'
        f"<table><thead><tr>{header}</tr></thead><tbody>"
    )
    return head, "</tbody></table></body></html>"


def to_html(
    grid_id: str,
    tasks: Iterable[VerificationTask],
    day: date,
    locale: str | None = None,
    details: TaskListDetails | None = None,
    first: int = 1,
) -> str:
    """A self-contained printable page (no scripts, no external assets), in the city's language
    by default: every word from the message catalogue, places as estate / building / unit / floor /
    room, who by name, the finding as its plain-language name with its reason under it; codes
    in small print."""
    t = translator(locale)
    sheet = rows(tasks, details, first)
    boxes = result_boxes(t)
    body = []
    for row in sheet:
        place = t.home_address(
            row["estate_name"] or row["estate_id"], row["building_id"], row["unit"], row["floor"], row["room"]
        )
        codes = " · ".join(
            filter(None, (row["estate_id"] if row["estate_name"] else "", row["home_id"], row["person_id"]))
        )
        body.append(
            ROW_HTML.format(
                order=row["order"],
                priority=row["priority"],
                place=html.escape(place),
                who=html.escape(row["person_name"] or t("sheet.whole_home")),
                codes=html.escape(codes),
                what=html.escape(t.get(f"finding.{row['finding_type']}", row["finding_type"])),
                explanation=html.escape(row["explanation"]),
                finding_type=html.escape(row["finding_type"]),
                task_id=html.escape(row["task_id"]),
                boxes=boxes,
            )
        )
    head, tail = page_parts(t, grid_id, day, len(sheet))
    return head + "".join(body) + tail
