"""What the simulators remember: every request received, queued faults, and the simulated world.

One state object per simulator. Flask serves requests from several threads (and a test thread
reads the state while a request is in flight), so every read and write goes through one lock.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from simulators.aliyun_variables import FREE_TEXT, RULES

# A demo runs for days; keep memory bounded.
MAX_RECORDS = 2000
BEIJING = ZoneInfo("Asia/Shanghai")  # WeChat's daily quotas start again at 00:00 here


class RollingCounter:
    """Accepted events per key in a rolling window: admit() says whether one more fits and, if so,
    counts it. The caller holds the state's lock."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit, self.window = limit, window_seconds
        self._seen: dict[Any, deque[float]] = {}

    def fits(self, key: Any, now: float) -> bool:
        seen = self._seen.get(key)
        if seen is None:
            return self.limit > 0
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        return len(seen) < self.limit

    def count(self, key: Any, now: float) -> None:
        self._seen.setdefault(key, deque()).append(now)


@dataclass(frozen=True)
class SmsLimits:
    """Aliyun's published flow control (频率限制) for one account; refusals are
    isv.BUSINESS_LIMIT_CONTROL. Numbers on the whitelist (up to 300) are exempt."""

    notices_per_day: int = 50  # per signature, template and number, rolling 24 h
    codes_per_minute: int = 1  # verification codes, per signature and number
    codes_per_hour: int = 5
    codes_per_day: int = 10
    codes_per_number_per_day: int = 40  # verification codes to one number, any signature
    whitelist: frozenset[str] = frozenset()


@dataclass(frozen=True)
class WeChatLimits:
    """The official account's daily API quotas (reset at 00:00 Asia/Shanghai); past one, 45009."""

    template_sends_per_day: int = 100_000


@dataclass
class Record:
    id: int
    time: str
    endpoint: str
    method: str
    payload: Any
    status: int
    response: Any
    note: str | None = None


@dataclass
class Fault:
    """What the next `times` calls to `endpoint` answer instead of the normal answer.

    `delay` is applied first; then `status` (an HTTP error), else `errcode` (WeChat) or
    `code` (Aliyun) as a business error; a fault with only `delay` lets the call proceed normally.
    """

    endpoint: str
    times: int = 1
    delay: float = 0.0
    status: int | None = None
    errcode: int | None = None
    errmsg: str | None = None
    code: str | None = None
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, 0.0) or key == "times"}


class SimulatorState:
    """Request log and fault queue, shared by every simulator."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._records: list[Record] = []
        self._faults: list[Fault] = []
        self._clock_offset = 0.0

    # -- the simulator's clock ---------------------------------------------------------------
    def now(self) -> float:
        """The simulator's clock: the real one, moved on by `advance_clock`."""
        return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Let time pass for what the simulator remembers (tests and drills cannot wait a day)."""
        with self.lock:
            self._clock_offset += seconds

    # -- request log -------------------------------------------------------------------------
    def record(
        self, endpoint: str, method: str, payload: Any, status: int, response: Any, note: str | None = None
    ) -> Record:
        with self.lock:
            entry = Record(
                id=next(self._ids),
                time=datetime.now(UTC).isoformat(timespec="milliseconds"),
                endpoint=endpoint,
                method=method,
                payload=payload,
                status=status,
                response=response,
                note=note,
            )
            self._records.append(entry)
            del self._records[:-MAX_RECORDS]
            return entry

    def records(self, endpoint: str | None = None) -> list[Record]:
        """Oldest first (the order tests reason in); the HTML page reverses it."""
        with self.lock:
            return [r for r in self._records if endpoint is None or r.endpoint == endpoint]

    def count(self, endpoint: str) -> int:
        return len(self.records(endpoint))

    # -- faults ------------------------------------------------------------------------------
    def inject(self, endpoint: str, *, times: int = 1, **fields: Any) -> Fault:
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = Fault(endpoint=endpoint, times=times, **fields)
        if fault.delay < 0 or fault.delay > 120:
            raise ValueError("delay must be between 0 and 120 seconds")
        if fault.status is not None and not 400 <= fault.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        with self.lock:
            self._faults.append(fault)
        return fault

    def take_fault(self, endpoint: str) -> Fault | None:
        """Consume one use of the oldest fault queued for `endpoint`."""
        with self.lock:
            for fault in self._faults:
                if fault.endpoint == endpoint:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def faults(self) -> list[dict[str, Any]]:
        with self.lock:
            return [fault.as_dict() for fault in self._faults]

    def reset(self) -> None:
        with self.lock:
            self._records.clear()
            self._faults.clear()
            self._clock_offset = 0.0


def new_id(nbytes: int = 12) -> str:
    return secrets.token_hex(nbytes)


@dataclass
class WeChatUser:
    openid: str
    follows: bool = True  # False: template messages answer 43004, user/info says subscribe 0
    refuses_subscribe: bool = False  # True: subscribe messages answer 43101
    unionid: str | None = None
    subscribe_time: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Token:
    appid: str
    expires_at: float
    stable: bool


# WeChat drops a template message repeating a client_msg_id for 10 minutes only.
CLIENT_MSG_ID_SECONDS = 600


class WeChatState(SimulatorState):
    """The WeChat side: apps and their secrets, access tokens, users, one-time codes.

    Unknown openids behave as followers who accept subscribe messages, so a demo works without
    set-up; tests mark the exceptions with `set_user`. A person's unionid is handed out (user/info,
    jscode2session) only to apps bound to the simulated 开放平台 account: by default all of them;
    `bind_open_platform()` changes which.
    """

    def __init__(
        self,
        apps: dict[str, str] | None = None,
        token_ttl: int = 7200,
        *,
        limits: WeChatLimits | None = None,
        relaxed: bool = False,
    ) -> None:
        super().__init__()
        self.apps = dict(apps or {"wx-sim-official": "sim-official-secret", "wx-sim-miniprogram": "sim-mini-secret"})
        self.token_ttl = token_ttl
        self.limits = limits or WeChatLimits()
        self.relaxed = relaxed  # no daily quota (throughput benchmarks and drills)
        self._clear_world()

    def _clear_world(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._current: dict[tuple[str, bool], str] = {}  # (appid, stable) -> token
        self._users: dict[str, WeChatUser] = {}
        self._login_codes: dict[str, dict[str, str]] = {}
        self._phone_codes: dict[str, str] = {}
        self._used_codes: set[str] = set()  # a second use answers 40163, an unknown code 40029
        # (touser, client_msg_id) -> (msgid, when first seen); forgotten after CLIENT_MSG_ID_SECONDS
        self._dedupe: dict[tuple[str, str], tuple[int, float]] = {}
        self._msgids = itertools.count(int(time.time()) * 1000)
        self._menu: dict[str, Any] | None = None
        self._open_platform: set[str] = set(self.apps)
        self._template_sends: dict[tuple[str, str], int] = {}  # (appid, Beijing day) -> calls

    # -- daily quotas ------------------------------------------------------------------------
    def _today(self) -> str:
        return datetime.fromtimestamp(self.now(), BEIJING).date().isoformat()

    def admit_template_send(self, appid: str) -> bool:
        """Count one template send for the official account today, or False past its daily quota
        (45009). Relaxed, every send is admitted (and still counted, for quota/get)."""
        with self.lock:
            key = (appid, self._today())
            used = self._template_sends.get(key, 0)
            if not self.relaxed and used >= self.limits.template_sends_per_day:
                return False
            self._template_sends[key] = used + 1
            return True

    def template_quota(self, appid: str) -> dict[str, int]:
        """What /cgi-bin/openapi/quota/get reports for template sends today."""
        with self.lock:
            used = self._template_sends.get((appid, self._today()), 0)
            limit = self.limits.template_sends_per_day
            return {"daily_limit": limit, "used": used, "remain": max(limit - used, 0)}

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._clear_world()

    # -- tokens ------------------------------------------------------------------------------
    def issue_token(self, appid: str, *, stable: bool = False, force: bool = False) -> tuple[str, int]:
        """/cgi-bin/token always issues a new token and kills the previous one; stable_token
        hands out the current one until it expires (or force_refresh). The two are independent."""
        with self.lock:
            now = time.time()
            current = self._current.get((appid, stable))
            if stable and not force and current and self._tokens[current].expires_at > now:
                return current, int(self._tokens[current].expires_at - now)
            if current:
                self._tokens.pop(current, None)
            token = f"SIM_{'STABLE_' if stable else ''}{new_id(24)}"
            self._tokens[token] = Token(appid=appid, expires_at=now + self.token_ttl, stable=stable)
            self._current[(appid, stable)] = token
            return token, self.token_ttl

    def check_token(self, token: str | None) -> tuple[str | None, int]:
        """(appid, 0) for a valid token, else (None, errcode)."""
        if not token:
            return None, 41001
        with self.lock:
            found = self._tokens.get(token)
            if found is None:
                return None, 40001
            if found.expires_at <= time.time():
                return None, 42001
            return found.appid, 0

    def expire_tokens(self) -> None:
        """Let every token run out now (tests of the 42001 path)."""
        with self.lock:
            for token in self._tokens.values():
                token.expires_at = 0

    # -- the official account's menu ----------------------------------------------------------
    def set_menu(self, menu: dict[str, Any]) -> None:
        with self.lock:
            self._menu = menu

    def current_menu(self) -> dict[str, Any] | None:
        with self.lock:
            return self._menu

    # -- the 开放平台 account ----------------------------------------------------------------
    def bind_open_platform(self, *appids: str) -> None:
        """Exactly these apps are bound to the 开放平台 account (none: no app sees a unionid)."""
        with self.lock:
            self._open_platform = set(appids)

    def sees_unionids(self, appid: str | None) -> bool:
        with self.lock:
            return appid in self._open_platform

    # -- users -------------------------------------------------------------------------------
    def set_user(
        self,
        openid: str,
        *,
        follows: bool | None = None,
        refuses_subscribe: bool | None = None,
        unionid: str | None = None,
    ) -> WeChatUser:
        with self.lock:
            user = self._users.setdefault(openid, WeChatUser(openid=openid))
            if follows is not None:
                user.follows = follows
            if refuses_subscribe is not None:
                user.refuses_subscribe = refuses_subscribe
            if unionid is not None:
                user.unionid = unionid
            return user

    def user(self, openid: str) -> WeChatUser:
        with self.lock:
            return self._users.get(openid) or WeChatUser(openid=openid)

    def users(self) -> list[WeChatUser]:
        with self.lock:
            return list(self._users.values())

    # -- one-time codes ----------------------------------------------------------------------
    def issue_login_code(
        self,
        openid: str,
        *,
        code: str | None = None,
        unionid: str | None = None,
        session_key: str | None = None,
    ) -> str:
        """A code as wx.login() would hand the mini-program; jscode2session accepts it once."""
        code = code or new_id(16)
        with self.lock:
            entry = {"openid": openid, "session_key": session_key or new_id(12)}
            if unionid:
                entry["unionid"] = unionid
            self._login_codes[code] = entry
        return code

    def redeem_login_code(self, code: str) -> dict[str, str] | None:
        with self.lock:
            found = self._login_codes.pop(code, None)
            if found is not None:
                self._used_codes.add(code)
            return found

    def issue_phone_code(self, phone: str, *, code: str | None = None) -> str:
        """A code as getPhoneNumber hands the mini-program; getuserphonenumber accepts it once."""
        code = code or new_id(16)
        with self.lock:
            self._phone_codes[code] = phone
        return code

    def redeem_phone_code(self, code: str) -> str | None:
        with self.lock:
            found = self._phone_codes.pop(code, None)
            if found is not None:
                self._used_codes.add(code)
            return found

    def code_was_used(self, code: str) -> bool:
        with self.lock:
            return code in self._used_codes

    # -- message ids -------------------------------------------------------------------------
    def message_id(self, touser: str, client_msg_id: str | None) -> tuple[int, bool]:
        """(msgid, duplicate): the same touser + client_msg_id within CLIENT_MSG_ID_SECONDS of the
        first gets the first message's msgid; later it is a new message, as WeChat does."""
        with self.lock:
            now = self.now()
            seen = self._dedupe.get((touser, client_msg_id)) if client_msg_id else None
            if seen is not None and now - seen[1] < CLIENT_MSG_ID_SECONDS:
                return seen[0], True
            msgid = next(self._msgids)
            if client_msg_id:
                self._dedupe[(touser, client_msg_id)] = (msgid, now)
            return msgid, False


class SmsState(SimulatorState):
    """The Aliyun side: access keys, and which sign names / templates the account owns.

    `templates` maps each template code to its variables and the attribute (变量属性) each is
    registered with (see simulators.aliyun_variables): a SendSms must give every variable, each
    value fit for its attribute. `sign_names` / `templates` None accepts any (a demo does not need
    to register them); with `templates` None every value is checked as free text (自定义/其他),
    the attribute a notice's variables have unless registered otherwise.
    """

    def __init__(
        self,
        access_keys: dict[str, str] | None = None,
        sign_names: Iterable[str] | None = None,
        templates: Mapping[str, Mapping[str, str]] | None = None,
        *,
        code_templates: Iterable[str] = (),
        limits: SmsLimits | None = None,
        relaxed: bool = False,
    ) -> None:
        super().__init__()
        self.access_keys = dict(access_keys or {"sim-access-key-id": "sim-access-key-secret"})
        # Templates registered as 验证码 (their own, stricter limits); every other is a notice.
        self.code_templates = set(code_templates)
        self.limits = limits or SmsLimits()
        # relaxed: no flow control at all (throughput benchmarks and drills choose it, and say so).
        self.relaxed = relaxed
        self.sign_names = set(sign_names) if sign_names is not None else None
        self.templates = (
            {code: dict(variables) for code, variables in templates.items()} if templates is not None else None
        )
        for variables in (self.templates or {}).values():
            unknown = set(variables.values()) - RULES.keys()
            if unknown:
                raise ValueError(f"unknown variable attributes {sorted(unknown)}; known: {sorted(RULES)}")
        self._clear_world()

    def variables(self, template_code: str, values: Mapping[str, str]) -> dict[str, str]:
        """Each variable of the template -> its attribute (`values`: what a SendSms gave)."""
        if self.templates is None:
            return dict.fromkeys(values, FREE_TEXT)
        return self.templates.get(template_code, {})

    def _clear_world(self) -> None:
        self._nonces: dict[str, float] = {}  # insertion order is time order: expiry pops the front
        self._biz_ids = itertools.count(int(time.time()) * 1000)
        limits = self.limits
        day = 24 * 3600
        self._notices = RollingCounter(limits.notices_per_day, day)
        self._codes = (
            (RollingCounter(limits.codes_per_minute, 60), "触发分钟级流控Permits:{}"),
            (RollingCounter(limits.codes_per_hour, 3600), "触发小时级流控Permits:{}"),
            (RollingCounter(limits.codes_per_day, day), "触发天级流控Permits:{}"),
        )
        self._codes_per_number = RollingCounter(limits.codes_per_number_per_day, day)

    def admit(self, sign_name: str, template_code: str, numbers: Iterable[str]) -> str | None:
        """Count one accepted SendSms to each number, or the flow-control message that refuses it
        (nothing counted). Every accepted submission counts, as Aliyun counts it."""
        with self.lock:
            if self.relaxed:
                return None
            now = self.now()
            counted = [number for number in numbers if number not in self.limits.whitelist]
            if template_code not in self.code_templates:
                for number in counted:
                    if not self._notices.fits((sign_name, template_code, number), now):
                        return f"触发天级流控Permits:{self.limits.notices_per_day}"
                for number in counted:
                    self._notices.count((sign_name, template_code, number), now)
                return None
            for number in counted:
                for counter, message in self._codes:
                    if not counter.fits((sign_name, number), now):
                        return message.format(counter.limit)
                if not self._codes_per_number.fits(number, now):
                    return f"触发号码天级流控Permits:{self.limits.codes_per_number_per_day}"
            for number in counted:
                for counter, _ in self._codes:
                    counter.count((sign_name, number), now)
                self._codes_per_number.count(number, now)
            return None

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._clear_world()

    def use_nonce(self, nonce: str, window: float) -> bool:
        """False when the nonce was already used within `window` seconds (a replay)."""
        with self.lock:
            now = time.time()
            # Oldest first, so expiring stops at the first fresh one: O(1) per request, not O(n).
            while self._nonces:
                oldest, seen = next(iter(self._nonces.items()))
                if now - seen <= window:
                    break
                del self._nonces[oldest]
            if nonce in self._nonces:
                return False
            self._nonces[nonce] = now
            return True

    def biz_id(self) -> str:
        with self.lock:
            return f"{next(self._biz_ids)}^0"
