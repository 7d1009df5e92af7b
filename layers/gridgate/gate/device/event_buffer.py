"""The gate's durable list of decided events that the cloud has not acknowledged yet.

SQLite (standard library, one file on the gate's disk): an event is stored once per event id
(``INSERT OR IGNORE``), survives a power cut, and stays pending until an upload returns. An
upload that fails half-way leaves it pending; uploading it again is harmless because the cloud
stores events by id too. So nothing is lost and nothing is counted twice.

The same database remembers the visitor-pass uses this gate has seen (its own offline openings
and the online ones it was told about), which the snapshot's use counts cannot know yet.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from gridgate.domain.model import AccessEvent, AccessMethod, Outcome
from gridgate.gate.decision import event_from_dict, event_to_dict

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        uploaded INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS pass_uses (
        event_id TEXT PRIMARY KEY,
        pass_id TEXT NOT NULL,
        seen_at TEXT NOT NULL
    )""",
)


class EventBuffer:
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        with self._db:  # each `with self._db` block is one transaction, committed at its end
            for statement in _SCHEMA:
                self._db.execute(statement)
        self._lock = threading.Lock()

    def add(self, event: AccessEvent, *, decided_at: datetime) -> bool:
        """Keep `event` for upload; False if an event with this id is already kept.

        An entry the event opened with a visitor pass is counted as a use of that pass.
        """
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO events (event_id, body) VALUES (?, ?)",
                (event.event_id, json.dumps(event_to_dict(event))),
            )
            added = cursor.rowcount == 1
            spent_pass = event.outcome == Outcome.OPEN and event.method == AccessMethod.VISITOR_PASS
            if added and spent_pass and event.pass_id is not None:
                self._note(event.event_id, event.pass_id, decided_at)
        return added

    def note_pass_use(self, event_id: str, pass_id: str, seen_at: datetime) -> None:
        """Count a pass use decided elsewhere (online); once per event id."""
        with self._lock, self._db:
            self._note(event_id, pass_id, seen_at)

    def _note(self, event_id: str, pass_id: str, seen_at: datetime) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO pass_uses (event_id, pass_id, seen_at) VALUES (?, ?, ?)",
            (event_id, pass_id, _utc_text(seen_at)),
        )

    def pass_uses_since(self, pass_id: str, since: datetime) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM pass_uses WHERE pass_id = ? AND seen_at >= ?", (pass_id, _utc_text(since))
            ).fetchone()
        return row[0]

    def get(self, event_id: str) -> AccessEvent | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM events WHERE event_id = ?", (event_id,)).fetchone()
        return event_from_dict(json.loads(row[0])) if row else None

    def pending(self, limit: int = 100) -> list[AccessEvent]:
        """The oldest events not yet acknowledged by the cloud, in the order they were decided."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM events WHERE uploaded = 0 ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [event_from_dict(json.loads(body)) for (body,) in rows]

    def mark_uploaded(self, event_ids: list[str]) -> None:
        with self._lock, self._db:
            self._db.executemany("UPDATE events SET uploaded = 1 WHERE event_id = ?", [(e,) for e in event_ids])

    def count(self, *, pending_only: bool = False) -> int:
        query = "SELECT COUNT(*) FROM events" + (" WHERE uploaded = 0" if pending_only else "")
        with self._lock:
            return self._db.execute(query).fetchone()[0]

    def close(self) -> None:
        self._db.close()


def _utc_text(at: datetime) -> str:
    """Fixed-width UTC text, so times compare as strings in SQLite."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")
