"""People's sign-ins in the ``sign_ins`` table: logins in progress and signed-in sessions.

A login is *taken* (read, then deleted on condition it is still there) exactly once, so a
replayed callback finds nothing. A session's refresh is a conditional update on the hash of the
refresh secret it was given, so two refreshes with the same secret cannot both win. Rows carry
their own expiry and reads check it: DynamoDB's TTL removes rows only eventually (moto never does).
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from gridgate.adapters.tables import SignInTable

_LOGIN, _SESSION = "login#", "session#"


def _conditional_failure(err: UpdateError | DeleteError) -> bool:
    return err.cause_response_code == "ConditionalCheckFailedException"


class SignInStore:
    def put_login(self, state: str, data: dict, expires_at: datetime) -> None:
        SignInTable(key=_LOGIN + state, data=data, expires_at=expires_at).save(
            condition=SignInTable.key.does_not_exist()
        )

    def take_login(self, state: str, now: datetime) -> dict | None:
        """The login started with `state`, removed so it cannot be used twice; None if unknown,
        already taken or expired."""
        try:
            row = SignInTable.get(_LOGIN + state, consistent_read=True)
            row.delete(condition=SignInTable.key.exists())
        except DoesNotExist:
            return None
        except DeleteError as err:
            if _conditional_failure(err):
                return None
            raise
        return dict(row.data) if row.expires_at > now else None

    def put_session(self, session_id: str, data: dict, refresh_hash: str, expires_at: datetime) -> None:
        SignInTable(key=_SESSION + session_id, data=data, refresh_hash=refresh_hash, expires_at=expires_at).save(
            condition=SignInTable.key.does_not_exist()
        )

    def session(self, session_id: str, now: datetime) -> tuple[dict, str] | None:
        """(the session's data, its current refresh hash), or None if ended or expired."""
        try:
            row = SignInTable.get(_SESSION + session_id, consistent_read=True)
        except DoesNotExist:
            return None
        return (dict(row.data), row.refresh_hash or "") if row.expires_at > now else None

    def rotate(self, session_id: str, expected_refresh_hash: str, data: dict, refresh_hash: str) -> bool:
        """Replace the session's data and refresh hash if its refresh hash still is the expected
        one; False when another refresh (or a sign-out) came first."""
        try:
            SignInTable(key=_SESSION + session_id).update(
                actions=[SignInTable.data.set(data), SignInTable.refresh_hash.set(refresh_hash)],
                condition=SignInTable.key.exists() & (SignInTable.refresh_hash == expected_refresh_hash),
            )
        except UpdateError as err:
            if _conditional_failure(err):
                return False
            raise
        return True

    def end_session(self, session_id: str) -> None:
        SignInTable(key=_SESSION + session_id).delete()
