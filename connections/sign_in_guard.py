"""Password guessing: failed sign-ins are counted per username and per address, in Redis.

Every attempt is counted before its password is checked; a success takes its count back.

- 5 failures for one username within 15 minutes lock that username for the rest of the window,
  except from an address that signed this user in within the last 30 days: an attacker who knows a
  manager's username cannot lock the manager out of their own office PC;
- 30 failures from one address within 15 minutes lock that address, whatever username it tries;
- a successful sign-in clears the username's failures and remembers the address for 30 days. The
  address's failures stay counted: one account of their own must not let someone reset them. (An
  attacker locked out of a username gets five more guesses each time its owner signs in: a few a
  day, against the owner being locked out after every typo streak.)

The window starts with the first attempt, so a lock lasts at most 15 minutes. A guard that
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


# DECR a live count only: an address's window that has ended has nothing to give back.
_GIVE_BACK = "if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end return 0"


@dataclass(frozen=True)
class Lock:
    retry_after: int  # seconds until the window that locked it ends


def _digest(text: str) -> str:
    # Usernames and addresses are not written into key names as given: they may hold anything.
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _keys(username: str, address: str) -> tuple[str, str, str]:
    user, ip = _digest(username), _digest(address)
    return f"{PREFIX}user:{user}", f"{PREFIX}ip:{ip}", f"{PREFIX}known:{user}:{ip}"


def attempt(redis: Redis, username: str, address: str, *, trust_known_address: bool = True) -> Lock | None:
    """Count this attempt against the username and the address, before its password is checked,
    and say whether it may go on: None, or the Lock it meets. Counting first, in one transaction,
    is what makes parallel guesses count: each sees the attempts before it, however many are
    still checking their password. A re-check inside a signed-in session passes
    `trust_known_address=False`: there the one guessing sits at the user's own PC."""
    user_key, address_key, known_key = _keys(username, address)
    try:
        with redis.pipeline() as pipe:  # MULTI: a window never starts without its end
            for key in (user_key, address_key):
                pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)  # the window starts with the first attempt
                pipe.incr(key)
                pipe.ttl(key)
            pipe.exists(known_key)
            _, user_count, user_ttl, _, address_count, address_ttl, known = pipe.execute()
    except RedisError as error:
        raise GuardUnavailable(str(error)) from error
    waits = []
    if address_count > ADDRESS_LIMIT:
        waits.append(address_ttl)
    if user_count > USERNAME_LIMIT and not (known and trust_known_address):
        waits.append(user_ttl)
    return Lock(retry_after=max(1, *waits)) if waits else None


def succeeded(redis: Redis, username: str, address: str) -> None:
    """The attempt was the right password: the username's count is cleared, the address's attempt
    given back (only failures count against an address), and the address remembered for 30 days."""
    user_key, address_key, known_key = _keys(username, address)
    try:
        with redis.pipeline() as pipe:
            pipe.delete(user_key)
            pipe.eval(_GIVE_BACK, 1, address_key)
            pipe.set(known_key, 1, ex=KNOWN_ADDRESS_SECONDS)
            pipe.execute()
    except RedisError as error:
        raise GuardUnavailable(str(error)) from error
