"""Password guessing: failed sign-ins are counted per username and per address, in Redis.

- 5 failures for one username within 15 minutes lock that username for the rest of the window,
  except from an address that signed this user in within the last 30 days: an attacker who knows a
  manager's username cannot lock the manager out of their own office PC;
- 30 failures from one address within 15 minutes lock that address, whatever username it tries;
- a successful sign-in clears the username's failures and remembers the address for 30 days. The
  address's own count is not cleared: one account of their own must not let someone reset it. (An
  attacker locked out of a username gets five more guesses each time its owner signs in: a few a
  day, against the owner being locked out after every typo streak.)

The window starts with the first failure, so a lock lasts at most 15 minutes. A guard that
cannot reach Redis refuses (see `GuardUnavailable`), like every other limit of the edges.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

PREFIX = "weixiu:sign-in:"
WINDOW_SECONDS = 15 * 60
USERNAME_LIMIT = 5
ADDRESS_LIMIT = 30
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600


class GuardUnavailable(Exception):
    """Redis did not answer: nobody can tell whether this attempt is one too many."""


@dataclass(frozen=True)
class Lock:
    retry_after: int  # seconds until the window that locked it ends


def _digest(text: str) -> str:
    # Usernames and addresses are not written into key names as given: they may hold anything.
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _keys(username: str, address: str) -> tuple[str, str, str]:
    user, ip = _digest(username), _digest(address)
    return f"{PREFIX}user:{user}", f"{PREFIX}ip:{ip}", f"{PREFIX}known:{user}:{ip}"


def lock_of(redis: Redis, username: str, address: str, *, trust_known_address: bool = True) -> Lock | None:
    """The lock this attempt meets before its password is checked, or None. A re-check inside a
    signed-in session passes `trust_known_address=False`: there the one guessing sits at the
    user's own PC."""
    user_key, address_key, known_key = _keys(username, address)
    try:
        with redis.pipeline(transaction=False) as pipe:
            pipe.get(user_key).ttl(user_key).get(address_key).ttl(address_key).exists(known_key)
            user_failures, user_ttl, address_failures, address_ttl, known = pipe.execute()
    except RedisError as error:
        raise GuardUnavailable(str(error)) from error
    waits = []
    if int(address_failures or 0) >= ADDRESS_LIMIT:
        waits.append(address_ttl)
    if int(user_failures or 0) >= USERNAME_LIMIT and not (known and trust_known_address):
        waits.append(user_ttl)
    if not waits:
        return None
    return Lock(retry_after=max(1, max(waits)))


def record_failure(redis: Redis, username: str, address: str) -> None:
    user_key, address_key, _ = _keys(username, address)
    try:
        with redis.pipeline() as pipe:
            for key in (user_key, address_key):
                pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)  # the window starts with the first failure
                pipe.incr(key)
            pipe.execute()
    except RedisError as error:
        raise GuardUnavailable(str(error)) from error


def record_success(redis: Redis, username: str, address: str) -> None:
    user_key, _, known_key = _keys(username, address)
    try:
        with redis.pipeline() as pipe:
            pipe.delete(user_key)
            pipe.set(known_key, 1, ex=KNOWN_ADDRESS_SECONDS)
            pipe.execute()
    except RedisError as error:
        raise GuardUnavailable(str(error)) from error
