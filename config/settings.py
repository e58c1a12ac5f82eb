"""Run-mode configuration.

`load_config()` picks the class named by ``WEIXIU_ENV`` (embedded, production, testing) and
fills it from the environment. Production refuses to start with a missing or weak secret, so a
misconfigured deploy fails at boot instead of at the first signed token.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from config.instance_files import create_private, fill_webhook_secrets, kept_secret

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The embedded run's files (database, Redis dump, secrets); WEIXIU_INSTANCE_DIR puts them elsewhere.
INSTANCE_DIR = Path(os.environ.get("WEIXIU_INSTANCE_DIR", "").strip() or PROJECT_ROOT / "instance")
EMBEDDED_DATABASE = INSTANCE_DIR / "weixiu.db"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable service."""


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        if required:
            raise ConfigError(f"environment variable {name} is required in this mode")
        return default
    return value.strip()


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigError(f"{name}={value} is outside {minimum}..{maximum}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean (true/false), got {raw!r}")


def env_json_object(name: str, default: dict[str, str]) -> dict[str, str]:
    """A JSON object of strings (a template's field mapping), or the default when unset."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return dict(default)
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a JSON object, got {raw!r}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{name} must be a JSON object of strings")
    return value


# Aliyun exempts at most this many numbers from its flow control.
SMS_WHITELIST_LIMIT = 300
MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def env_phone_list(name: str, *, limit: int) -> frozenset[str]:
    """Mainland mobile numbers separated by commas or spaces (at most `limit`), or none when unset."""
    raw = os.environ.get(name) or ""
    numbers = [number for number in re.split(r"[\s,，]+", raw) if number]
    wrong = [number for number in numbers if not MAINLAND_MOBILE.match(number)]
    if wrong:
        raise ConfigError(f"{name} must list mainland mobile numbers (11 digits), got {wrong[0]!r}")
    if len(set(numbers)) > limit:
        raise ConfigError(f"{name} lists {len(set(numbers))} numbers; at most {limit}")
    return frozenset(numbers)


# The web worker this process is, as config/gunicorn.py tells it before the app is built: the
# database pool follows the requests it serves at once. A sync worker serves one, a gthread worker
# one per thread. A gevent worker serves up to --worker-connections (4000: mostly live streams, whose
# looks hold a connection a moment each), so its pool is bounded instead: the README's 4 workers ×
# 16 = 64 of PostgreSQL's default max_connections (100), the rest for the RQ workers, their work
# horses and the scheduler. DATABASE_POOL_SIZE, when set, overrides it; outside gunicorn (the RQ
# workers, the CLI) the pool keeps its former default.
GEVENT_POOL_SIZE = 16
POOL_RECYCLE_SECONDS = 300
DEFAULT_POOL_SIZE = 5
WORKER_KINDS = ("sync", "gthread", "gevent")


@dataclass(frozen=True)
class WebWorker:
    kind: str  # one of WORKER_KINDS
    concurrency: int  # requests served at once: 1, the threads, or the worker connections

    def __post_init__(self) -> None:
        if self.kind not in WORKER_KINDS or self.concurrency < 1:
            raise ConfigError(f"not a web worker: {self.kind} × {self.concurrency}")

    @property
    def pool_size(self) -> int:
        return min(self.concurrency, GEVENT_POOL_SIZE) if self.kind == "gevent" else self.concurrency


_web_worker: WebWorker | None = None


def serve_as(worker: WebWorker | None) -> None:
    """This process is `worker` (None: no longer a web worker); read by the config built next."""
    global _web_worker
    _web_worker = worker


def web_worker() -> WebWorker | None:
    return _web_worker


def normalize_database_url(url: str) -> str:
    """Accept the common ``postgres://`` spellings and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class BaseConfig:
    ENV_NAME = "base"
    TIMEZONE = "Asia/Shanghai"
    JSON_AS_ASCII = False
    # Uploads are bounded before they reach a view: a report may carry 9 photos of 5 MB each.
    MAX_CONTENT_LENGTH = 48 * 1024 * 1024
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {}
    # A pooled connection idle this long is checked (SELECT 1) as it comes out of the pool
    # (models.db.ping_when_idle); None: never (production's web workers, see below).
    DATABASE_PING_IDLE_SECONDS: float | None = 1.0
    DEFAULT_PAGE_SIZE = 10
    MAX_PAGE_SIZE = 100
    TOKEN_MAX_AGE_SECONDS = 12 * 3600
    # The PC console's browser sign-in (console_api.http): the session cookie's lifetime, and
    # whether cookies go over https only (production's config turns it on; tests run on http).
    SESSION_COOKIE_MAX_AGE_SECONDS = 12 * 3600
    SESSION_COOKIE_SECURE = False
    # How passwords are hashed now (werkzeug's method string); None: werkzeug's default (scrypt).
    # A sign-in whose stored hash was made another way is rehashed this way (operations.accounts).
    PASSWORD_HASH_METHOD: str | None = None
    IMPORT_MAX_ROWS = 20_000
    # Above this many rows an import runs on the queue (202 and a job id); at or below, in the request.
    IMPORT_SYNC_MAX_ROWS = 2_000
    EXPORT_MAX_ROWS = 100_000
    RQ_QUEUES = ("default",)
    # The values an alert offers to the WeChat / SMS templates: subject (设备名称 or 姓名), kind
    # (设备操作证 …), due_on (到期日), status (还剩3天到期 / 已过期). The template's own field names
    # are configured, since each account registers its own template.
    DEFAULT_WECHAT_ALERT_FIELDS: ClassVar[dict] = {
        "thing1": "subject",
        "thing2": "kind",
        "time3": "due_on",
        "thing4": "status",
    }
    DEFAULT_SMS_ALERT_PARAMS: ClassVar[dict] = {"name": "subject", "kind": "kind", "date": "due_on", "status": "status"}
    # The attribute (变量属性) each SMS template parameter is registered with at Aliyun (see
    # channels.sms_variables): the channel fits and checks each value by it. A parameter left out
    # is free text ("others").
    DEFAULT_SMS_ALERT_ATTRIBUTES: ClassVar[dict] = {
        "name": "others",
        "kind": "others",
        "date": "time",
        "status": "others",
    }
    # The values a digest (汇总提醒: operations.alerts.digests) offers: count (60), subject (检眼镜等60项,
    # the count never cut), nearest_subject (检眼镜), nearest_kind (设备操作证), due_on (the nearest
    # expiry), status (共60项待处理), kind (预警汇总). Its SMS names the mini-program in the
    # template's own text ("请在微信小程序「微修」查看"): a link or a name is never a variable.
    DEFAULT_WECHAT_DIGEST_FIELDS: ClassVar[dict] = {
        "thing1": "subject",
        "number2": "count",
        "time3": "due_on",
        "thing4": "status",
    }
    DEFAULT_SMS_DIGEST_PARAMS: ClassVar[dict] = {"count": "count", "name": "nearest_subject", "date": "due_on"}
    DEFAULT_SMS_DIGEST_ATTRIBUTES: ClassVar[dict] = {"count": "other_number2", "name": "others", "date": "time"}
    # The values a work-order message offers: number (GD000123), device (高压注射器(000027)), status
    # (待接单), time (2026-11-22 10:05), detail (故障：无法开机). WeChat caps a phrase field at 5
    # characters and a character_string at 32; the channel clips by the field's type.
    DEFAULT_WECHAT_WORK_ORDER_FIELDS: ClassVar[dict] = {
        "character_string1": "number",
        "thing2": "device",
        "phrase3": "status",
        "time4": "time",
        "thing5": "detail",
    }
    DEFAULT_SMS_WORK_ORDER_PARAMS: ClassVar[dict] = {
        "number": "number",
        "device": "device",
        "status": "status",
        "detail": "detail",
    }
    DEFAULT_SMS_WORK_ORDER_ATTRIBUTES: ClassVar[dict] = {
        "number": "other_number2",
        "device": "others",
        "status": "others",
        "detail": "others",
    }

    def __init__(self) -> None:
        self.SECRET_KEY = env_str("SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(
            env_str("DATABASE_URL") or f"sqlite:///{EMBEDDED_DATABASE}"
        )
        self.REDIS_URL = env_str("REDIS_URL")
        # The device QR codes encode links under this origin; stickers outlive deploys, so
        # production must name it explicitly.
        self.PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        # The service report PDF's Chinese font: a TrueType face (a .ttf or .ttc collection), since
        # ReportLab cannot embed OpenType CFF outlines such as Noto CJK's (Debian: fonts-wqy-zenhei).
        self.REPORT_FONT_PATH = env_str("REPORT_FONT_PATH") or "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
        self._load_channels()
        self._load_front_door()

    def _load_front_door(self) -> None:
        # The official account's webhook (服务器配置): the token that signs WeChat's calls, and in
        # safe mode the EncodingAESKey (43 characters). Without a token the webhook answers 404.
        self.WECHAT_OFFICIAL_TOKEN = env_str("WECHAT_OFFICIAL_TOKEN")
        self.WECHAT_OFFICIAL_ENCODING_AES_KEY = env_str("WECHAT_OFFICIAL_ENCODING_AES_KEY")
        # The mini-program's 消息推送 (`/wechat/miniprogram`: subscribe-message events), XML or
        # JSON, plain or safe mode, with its own token and key.
        self.WECHAT_MINIPROGRAM_TOKEN = env_str("WECHAT_MINIPROGRAM_TOKEN")
        self.WECHAT_MINIPROGRAM_ENCODING_AES_KEY = env_str("WECHAT_MINIPROGRAM_ENCODING_AES_KEY")
        for name in ("WECHAT_OFFICIAL_ENCODING_AES_KEY", "WECHAT_MINIPROGRAM_ENCODING_AES_KEY"):
            if getattr(self, name) and len(getattr(self, name)) != 43:
                raise ConfigError(f"{name} must be 43 characters")
        # Reverse proxies in front of the app (nginx: 1): their X-Forwarded-For names the client, so
        # per-IP limits count people, not the proxy. 0 trusts no header.
        self.PROXY_HOPS = env_int("PROXY_HOPS", 0, minimum=0, maximum=5)
        # The PC console's build (`cd console && npm ci && npm run build`), served at `/`.
        self.CONSOLE_DIST_DIR = env_str("CONSOLE_DIST_DIR") or str(PROJECT_ROOT / "console" / "dist")
        # Mini-program sessions (our token, bound to the openid; never WeChat's session_key).
        self.MINIPROGRAM_SESSION_MAX_AGE_SECONDS = env_int(
            "MINIPROGRAM_SESSION_MAX_AGE_SECONDS", 7 * 24 * 3600, minimum=300, maximum=90 * 24 * 3600
        )
        # The SMS verification code for binding by phone: its template and parameter name.
        self.SMS_VERIFY_TEMPLATE_CODE = env_str("SMS_VERIFY_TEMPLATE_CODE")
        self.SMS_VERIFY_TEMPLATE_PARAM = env_str("SMS_VERIFY_TEMPLATE_PARAM") or "code"
        # The 激活码 / 重置码 (8 characters) do not fit a verification template's variable (4-6
        # characters at Aliyun), so they go by a notice template whose variable is 其他号码.
        self.SMS_ACCOUNT_CODE_TEMPLATE_CODE = env_str("SMS_ACCOUNT_CODE_TEMPLATE_CODE")
        self.SMS_ACCOUNT_CODE_TEMPLATE_PARAM = env_str("SMS_ACCOUNT_CODE_TEMPLATE_PARAM") or "code"
        # Mini-program subscribe-message templates by purpose (work_order, alert): JSON object.
        self.WECHAT_SUBSCRIBE_TEMPLATES = env_json_object("WECHAT_SUBSCRIBE_TEMPLATES", {})
        # Their fields (template field -> name of a value the message offers), per purpose, as the
        # templates chosen in the mini-program's console name them: JSON {purpose: {field: value}}.
        # A purpose left out keeps its default.
        self.WECHAT_SUBSCRIBE_FIELDS = {
            "work_order": {"character_string1": "number", "thing2": "device", "phrase3": "status", "time4": "time"},
            "alert": {"thing1": "subject", "thing2": "kind", "time3": "due_on", "thing4": "status"},
        }
        raw = os.environ.get("WECHAT_SUBSCRIBE_FIELDS", "").strip()
        if raw:
            try:
                fields = json.loads(raw)
            except ValueError:
                raise ConfigError(f"WECHAT_SUBSCRIBE_FIELDS must be a JSON object, got {raw!r}") from None
            if not isinstance(fields, dict) or not all(
                isinstance(mapping, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
                for mapping in fields.values()
            ):
                raise ConfigError("WECHAT_SUBSCRIBE_FIELDS must be a JSON object {purpose: {field: value name}}")
            self.WECHAT_SUBSCRIBE_FIELDS |= fields
        # Which version of the mini-program a subscribe message opens: formal, trial or developer.
        self.WECHAT_SUBSCRIBE_MINIPROGRAM_STATE = env_str("WECHAT_SUBSCRIBE_MINIPROGRAM_STATE") or "formal"
        if self.WECHAT_SUBSCRIBE_MINIPROGRAM_STATE not in ("formal", "trial", "developer"):
            raise ConfigError("WECHAT_SUBSCRIBE_MINIPROGRAM_STATE must be formal, trial or developer")
        # The mini-program page a device's 小程序码 opens, and the verification file WeChat fetches
        # before sticker links may open the mini-program (扫普通链接二维码打开小程序).
        self.WECHAT_DEVICE_PAGE = env_str("WECHAT_DEVICE_PAGE") or "pages/device/index"
        self.WECHAT_LINK_VERIFY_FILE = env_str("WECHAT_LINK_VERIFY_FILE")
        self.WECHAT_LINK_VERIFY_CONTENT = env_str("WECHAT_LINK_VERIFY_CONTENT")

    def _load_channels(self) -> None:
        # WeChat (公众号 template messages; the mini-program is the jump target). With no app id
        # the WeChat channel is off and its deliveries are skipped with that reason; the embedded
        # run starts the local simulator instead. Each message family (alert, work order) has its
        # own template and page; a family without a template id is skipped with that reason.
        self.WECHAT_API_BASE_URL = (env_str("WECHAT_API_BASE_URL") or "https://api.weixin.qq.com").rstrip("/")
        self.WECHAT_OFFICIAL_APP_ID = env_str("WECHAT_OFFICIAL_APP_ID")
        self.WECHAT_OFFICIAL_APP_SECRET = env_str("WECHAT_OFFICIAL_APP_SECRET")
        self.WECHAT_MINIPROGRAM_APP_ID = env_str("WECHAT_MINIPROGRAM_APP_ID")
        self.WECHAT_MINIPROGRAM_APP_SECRET = env_str("WECHAT_MINIPROGRAM_APP_SECRET")
        self.WECHAT_ALERT_TEMPLATE_ID = env_str("WECHAT_ALERT_TEMPLATE_ID")
        self.WECHAT_ALERT_TEMPLATE_FIELDS = env_json_object(
            "WECHAT_ALERT_TEMPLATE_FIELDS", self.DEFAULT_WECHAT_ALERT_FIELDS
        )
        self.WECHAT_ALERT_PAGE = env_str("WECHAT_ALERT_PAGE") or "pages/alerts/detail"
        # 汇总提醒: one message for many reminders at one send time (its own template); it opens the
        # mini-program's alert list. Without a template id, reminders go one by one on that channel.
        self.WECHAT_DIGEST_TEMPLATE_ID = env_str("WECHAT_DIGEST_TEMPLATE_ID")
        self.WECHAT_DIGEST_TEMPLATE_FIELDS = env_json_object(
            "WECHAT_DIGEST_TEMPLATE_FIELDS", self.DEFAULT_WECHAT_DIGEST_FIELDS
        )
        self.WECHAT_DIGEST_PAGE = env_str("WECHAT_DIGEST_PAGE") or "packages/manager/pages/alerts/index"
        self.WECHAT_WORK_ORDER_TEMPLATE_ID = env_str("WECHAT_WORK_ORDER_TEMPLATE_ID")
        self.WECHAT_WORK_ORDER_TEMPLATE_FIELDS = env_json_object(
            "WECHAT_WORK_ORDER_TEMPLATE_FIELDS", self.DEFAULT_WECHAT_WORK_ORDER_FIELDS
        )
        self.WECHAT_WORK_ORDER_PAGE = env_str("WECHAT_WORK_ORDER_PAGE") or "pages/work-orders/detail"
        self.WECHAT_TIMEOUT_SECONDS = env_int("WECHAT_TIMEOUT_SECONDS", 5, minimum=1, maximum=60)
        # Aliyun SMS (SendSms). With no access key the SMS channel is off, as above; one template
        # per message family, as for WeChat.
        self.SMS_ACCESS_KEY_ID = env_str("SMS_ACCESS_KEY_ID")
        self.SMS_ACCESS_KEY_SECRET = env_str("SMS_ACCESS_KEY_SECRET")
        self.SMS_SIGN_NAME = env_str("SMS_SIGN_NAME")
        self.SMS_ALERT_TEMPLATE_CODE = env_str("SMS_ALERT_TEMPLATE_CODE")
        self.SMS_ALERT_TEMPLATE_PARAMS = env_json_object("SMS_ALERT_TEMPLATE_PARAMS", self.DEFAULT_SMS_ALERT_PARAMS)
        self.SMS_ALERT_TEMPLATE_ATTRIBUTES = env_json_object(
            "SMS_ALERT_TEMPLATE_ATTRIBUTES", self.DEFAULT_SMS_ALERT_ATTRIBUTES
        )
        self.SMS_DIGEST_TEMPLATE_CODE = env_str("SMS_DIGEST_TEMPLATE_CODE")
        self.SMS_DIGEST_TEMPLATE_PARAMS = env_json_object("SMS_DIGEST_TEMPLATE_PARAMS", self.DEFAULT_SMS_DIGEST_PARAMS)
        self.SMS_DIGEST_TEMPLATE_ATTRIBUTES = env_json_object(
            "SMS_DIGEST_TEMPLATE_ATTRIBUTES", self.DEFAULT_SMS_DIGEST_ATTRIBUTES
        )
        self.SMS_WORK_ORDER_TEMPLATE_CODE = env_str("SMS_WORK_ORDER_TEMPLATE_CODE")
        self.SMS_WORK_ORDER_TEMPLATE_PARAMS = env_json_object(
            "SMS_WORK_ORDER_TEMPLATE_PARAMS", self.DEFAULT_SMS_WORK_ORDER_PARAMS
        )
        self.SMS_WORK_ORDER_TEMPLATE_ATTRIBUTES = env_json_object(
            "SMS_WORK_ORDER_TEMPLATE_ATTRIBUTES", self.DEFAULT_SMS_WORK_ORDER_ATTRIBUTES
        )
        self.SMS_ENDPOINT = env_str("SMS_ENDPOINT") or "dysmsapi.aliyuncs.com"
        self.SMS_PROTOCOL = env_str("SMS_PROTOCOL") or "https"
        if self.SMS_PROTOCOL not in ("https", "http"):
            raise ConfigError(f"SMS_PROTOCOL must be https or http, got {self.SMS_PROTOCOL!r}")
        self.SMS_TIMEOUT_SECONDS = env_int("SMS_TIMEOUT_SECONDS", 5, minimum=1, maximum=60)
        # Sending: deliveries per job, and concurrent provider calls within one job.
        self.DELIVERY_BATCH_SIZE = env_int("DELIVERY_BATCH_SIZE", 500, minimum=1, maximum=2000)
        self.DELIVERY_CONCURRENCY = env_int("DELIVERY_CONCURRENCY", 8, minimum=1, maximum=64)
        # Calls per channel and job whose outcome may be uncommitted (a job that dies sends them
        # again): at most DELIVERY_CONCURRENCY unless set higher, which lets calls go on while the
        # returned ones are recorded (jobs.sending.send_in_window; issue 16's measured option).
        self.DELIVERY_UNRECORDED_CALLS = env_int("DELIVERY_UNRECORDED_CALLS", 0, minimum=0, maximum=128)
        # How long a send job starts provider calls; what is left then goes to a new job. Its RQ
        # timeout is this plus room for the calls in flight (jobs.outbox.send_job_timeout).
        self.DELIVERY_JOB_SECONDS = env_int("DELIVERY_JOB_SECONDS", 60, minimum=1, maximum=600)
        # A forking worker runs `urgent` jobs (work-order pushes) in its own process, warm, and forks
        # a work horse for the rest (jobs.runtime.AppWorker); false: a horse for every job.
        self.URGENT_JOBS_IN_PROCESS = env_bool("URGENT_JOBS_IN_PROCESS", True)
        # The providers' published limits, which the sender keeps to (jobs.quotas): Aliyun takes at
        # most 50 notices a day per signature, template and number (a rolling 24 h), except to the
        # numbers on the account's whitelist (up to 300, registered in Aliyun's console); WeChat
        # takes 100,000 template sends a day per official account (more once it has 100k, 1M, 10M
        # followers: set the account's own, which /cgi-bin/openapi/quota/get reports).
        self.SMS_NOTICES_PER_DAY = env_int("SMS_NOTICES_PER_DAY", 50, minimum=1, maximum=10_000_000)
        self.SMS_WHITELIST = env_phone_list("SMS_WHITELIST", limit=SMS_WHITELIST_LIMIT)
        self.WECHAT_TEMPLATE_SENDS_PER_DAY = env_int(
            "WECHAT_TEMPLATE_SENDS_PER_DAY", 100_000, minimum=1, maximum=1_000_000_000
        )
        for first, second in (
            ("WECHAT_OFFICIAL_APP_ID", "WECHAT_OFFICIAL_APP_SECRET"),
            ("WECHAT_MINIPROGRAM_APP_ID", "WECHAT_MINIPROGRAM_APP_SECRET"),
            ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET"),
        ):
            if bool(getattr(self, first)) != bool(getattr(self, second)):
                raise ConfigError(f"{first} and {second} must be set together")


class EmbeddedConfig(BaseConfig):
    """A laptop or a demo: SQLite file, embedded Redis, demo data, local simulators."""

    ENV_NAME = "embedded"

    def __init__(self) -> None:
        super().__init__()
        if not env_str("DATABASE_URL"):
            # Created before SQLite opens it, so SQLite, which gives its -wal and -shm files the
            # database's mode, keeps all three to the owner.
            create_private(EMBEDDED_DATABASE)
        if not self.SECRET_KEY:
            # Per instance, so embedded sessions survive restarts without configuration.
            self.SECRET_KEY = kept_secret(INSTANCE_DIR / "secret_key", lambda: secrets.token_urlsafe(48))
        # The webhooks never take a push signed with a token anyone could read in the source:
        # what the operator left out is the instance's own (the banner names which is which).
        self.WEBHOOK_SECRET_SOURCES = fill_webhook_secrets(self, INSTANCE_DIR)


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = self.SECRET_KEY or "testing-secret-key-not-for-production"
        # The test suite points this at a throwaway SQLite file or the machine's PostgreSQL.
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(
            env_str("WEIXIU_TEST_DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'test.db'}"
        )
        self.REDIS_URL = env_str("WEIXIU_TEST_REDIS_URL")
        self.PUBLIC_BASE_URL = "https://weixiu.test"
        # Cheap hashing for the suite's many sign-ins (the fixtures' accounts are hashed so): the
        # rehash-on-sign-in tests name the production default themselves.
        self.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    def __init__(self) -> None:
        super().__init__()
        secret = env_str("SECRET_KEY", required=True)
        if len(secret) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production")
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(env_str("DATABASE_URL", required=True))
        self.REDIS_URL = env_str("REDIS_URL", required=True)
        self.PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", required=True).rstrip("/")
        if not self.PUBLIC_BASE_URL.startswith("https://"):
            raise ConfigError("PUBLIC_BASE_URL must be https in production (WeChat opens only https links)")
        self.SESSION_COOKIE_SECURE = True
        worker = web_worker()
        pool_size = worker.pool_size if worker else DEFAULT_POOL_SIZE
        self.DATABASE_PING_IDLE_SECONDS = None if worker else 1.0
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            # A web worker goes without the pre-ping: its SELECT 1 cost 3 of the 7 round trips of
            # the webhook's 我的工单. Its connections are replaced once POOL_RECYCLE_SECONDS old (before
            # an idle time-out on the way drops them), and one the server dropped anyway (a restart)
            # fails its request: the pool then replaces every older connection, the console's
            # request is a 503 to retry and the webhook runs its message again (bot.webhook). The RQ
            # workers and the CLI, idle for long, check a connection that waited a second or more
            # in the pool (DATABASE_PING_IDLE_SECONDS), not one their job used a moment before.
            "pool_recycle": POOL_RECYCLE_SECONDS if worker else -1,
            "pool_size": env_int("DATABASE_POOL_SIZE", pool_size, minimum=1, maximum=100),
            # No connections beyond the pool: workers × pool size is then the most the web
            # processes ever hold, which must stay under the server's max_connections. With
            # SQLAlchemy's default 10 more per process, 4 workers of 16 asked PostgreSQL for 104
            # of its 100 when a thousand live streams opened at once, and the refused ones were 500s.
            "max_overflow": env_int("DATABASE_MAX_OVERFLOW", 0, minimum=0, maximum=100),
        }


MODES = {
    "embedded": EmbeddedConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def load_config(mode: str | None = None) -> BaseConfig:
    name = mode or env_str("WEIXIU_ENV") or "embedded"
    try:
        config_class = MODES[name]
    except KeyError:
        raise ConfigError(f"WEIXIU_ENV must be one of {sorted(MODES)}, got {name!r}") from None
    return config_class()
