"""The one clock: every "now" and every timestamp written to the ledger comes from here.

Times are timezone-aware UTC. `now_ms` truncates to the millisecond BSON keeps, so a value
read back from MongoDB encodes exactly as it did when it was sealed.
"""
from datetime import datetime, timezone

from ledger.encoding import rfc3339


def now():
    return datetime.now(timezone.utc)


def now_ms():
    """Now, truncated to the millisecond BSON keeps, so a re-read encodes identically."""
    moment = now()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def ts(value):
    """A datetime as sealed on the ledger (RFC 3339), or None for no value."""
    return rfc3339(value) if value else None


def as_utc(value):
    """A stored time as an aware UTC datetime (a naive one is UTC: this clock stores UTC)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(
        timezone.utc)
