"""Run-mode configuration: production fails fast without its secrets."""

from __future__ import annotations

import pytest

from config import ConfigError, load_config
from config.settings import normalize_database_url

PRODUCTION_ENV = {
    "SECRET_KEY": "s" * 40,
    "DATABASE_URL": "postgres://weixiu@db/weixiu",
    "REDIS_URL": "redis://redis:6379/0",
    "PUBLIC_BASE_URL": "https://weixiu.example.cn",
}


@pytest.fixture
def production_env(monkeypatch):
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_production_reads_the_environment(production_env):
    config = load_config("production")
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://weixiu@db/weixiu"
    assert config.REDIS_URL == "redis://redis:6379/0"
    assert config.SESSION_COOKIE_SECURE is True


@pytest.mark.parametrize("missing", sorted(PRODUCTION_ENV))
def test_production_refuses_to_start_without_each_setting(production_env, missing):
    production_env.delenv(missing)
    with pytest.raises(ConfigError, match=missing):
        load_config("production")


def test_production_refuses_a_short_secret_and_plain_http(production_env):
    production_env.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="32"):
        load_config("production")
    production_env.setenv("SECRET_KEY", "s" * 40)
    production_env.setenv("PUBLIC_BASE_URL", "http://weixiu.example.cn")
    with pytest.raises(ConfigError, match="https"):
        load_config("production")


def test_unknown_mode_and_bad_numbers_fail(monkeypatch, production_env):
    with pytest.raises(ConfigError):
        load_config("staging")
    production_env.setenv("DATABASE_POOL_SIZE", "many")
    with pytest.raises(ConfigError, match="DATABASE_POOL_SIZE"):
        load_config("production")


def test_database_url_spellings():
    assert normalize_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sms_variable_attributes_cover_the_default_parameters_and_come_from_the_environment(production_env):
    config = load_config("production")
    assert config.SMS_ALERT_TEMPLATE_ATTRIBUTES.keys() == config.SMS_ALERT_TEMPLATE_PARAMS.keys()
    assert config.SMS_WORK_ORDER_TEMPLATE_ATTRIBUTES.keys() == config.SMS_WORK_ORDER_TEMPLATE_PARAMS.keys()
    production_env.setenv("SMS_WORK_ORDER_TEMPLATE_ATTRIBUTES", '{"number": "others"}')
    assert load_config("production").SMS_WORK_ORDER_TEMPLATE_ATTRIBUTES == {"number": "others"}


def provider_limits(config) -> tuple:
    return config.SMS_NOTICES_PER_DAY, config.SMS_WHITELIST, config.WECHAT_TEMPLATE_SENDS_PER_DAY


def test_the_providers_limits_default_to_the_published_ones_and_come_from_the_environment(production_env):
    assert provider_limits(load_config("production")) == (50, frozenset(), 100_000)
    production_env.setenv("SMS_NOTICES_PER_DAY", "40")
    production_env.setenv("SMS_WHITELIST", "13800000001, 13800000002，13800000001")
    production_env.setenv("WECHAT_TEMPLATE_SENDS_PER_DAY", "1000000")
    whitelist = frozenset({"13800000001", "13800000002"})
    assert provider_limits(load_config("production")) == (40, whitelist, 1_000_000)


@pytest.mark.parametrize(
    ("whitelist", "problem"),
    [("13800000001,0571-8888", "mainland mobile"), (",".join(f"138{n:08d}" for n in range(301)), "at most 300")],
)
def test_the_sms_whitelist_takes_mainland_mobiles_and_at_most_300(production_env, whitelist, problem):
    production_env.setenv("SMS_WHITELIST", whitelist)
    with pytest.raises(ConfigError, match=problem):
        load_config("production")
