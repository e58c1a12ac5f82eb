"""What a transaction tells the open live streams (GET /api/v1/live) once it commits.

A step writing a timeline event, the inbox channel writing a message, a person marking messages
read or ending their sessions: each names here whose stream should look again ("topics"), and the
after-commit hook (jobs/after_commit.py) publishes them on Redis for the web processes
(connections/live.py). A rolled-back transaction tells nobody. Only names travel: the stream reads
what changed from the database with the caller's own visibility rules, so a topic says "look",
never what is there.

    institution:<id>   a timeline event of the institution's orders (its staff's streams look)
    vendor:<id>        a timeline event of an order the vendor serves (its people's streams look)
    user:<id>          the person's inbox or session changed
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

_KEY = "weixiu.live_topics"


def institution_topic(institution_id: int) -> str:
    return f"institution:{institution_id}"


def vendor_topic(vendor_id: int) -> str:
    return f"vendor:{vendor_id}"


def user_topic(user_id: int) -> str:
    return f"user:{user_id}"


def announce(session: Session, topics: Iterable[str]) -> None:
    session.info.setdefault(_KEY, set()).update(topics)


def announce_timeline(session: Session, institution_id: int, vendor_id: int | None) -> None:
    """A timeline event of an order of this institution (served by this vendor) is being written."""
    announce(session, [institution_topic(institution_id), *([vendor_topic(vendor_id)] if vendor_id else [])])


def announce_inbox(session: Session, user_ids: Iterable[int]) -> None:
    """These people's inboxes (or sessions) change in this transaction."""
    announce(session, (user_topic(user_id) for user_id in user_ids))


def take_announced(session: Session) -> set[str]:
    """The topics of the transaction that just ended, forgotten here (empty when there are none)."""
    return session.info.pop(_KEY, set())
