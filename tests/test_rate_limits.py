"""The fixed-window rate limits in Redis (connections.rate_limits), against the suite's Redis."""

from __future__ import annotations

import pytest

from connections import rate_limits


@pytest.fixture
def redis(app_context):
    from connections import redis as redis_connection

    return redis_connection.redis()


def test_an_attempt_given_back_frees_its_place_in_the_window(redis):
    assert rate_limits.allow(redis, "t:one", 1, 60)
    rate_limits.give_back(redis, "t:one")
    assert rate_limits.allow(redis, "t:one", 1, 60)
    assert not rate_limits.allow(redis, "t:one", 1, 60)


def test_giving_back_keeps_the_windows_end_and_never_opens_one(redis):
    assert rate_limits.allow(redis, "t:two", 3, 60)
    assert rate_limits.allow(redis, "t:two", 3, 60)
    rate_limits.give_back(redis, "t:two")
    assert 0 < redis.ttl(f"{rate_limits.PREFIX}t:two") <= 60
    rate_limits.give_back(redis, "t:ended")  # a window that has ended has nothing to give back
    assert not redis.exists(f"{rate_limits.PREFIX}t:ended")
