"""Both simulators started together, and the settings that point the product at them.

The embedded run uses this when no WeChat / SMS credentials are configured; the tests use the
same settings, so the demo and the suite exercise one configuration. The webhooks' tokens and
keys are not among them: each instance makes its own (config.instance_files), and WeChat's
side of a push signs with whatever the instance has (simulators.push).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulators.aliyun_sms import create_aliyun_sms_simulator
from simulators.server import SimulatorServer
from simulators.state import SmsState, WeChatState
from simulators.wechat import create_wechat_simulator

OFFICIAL_APP_ID = "wx-sim-official"
MINIPROGRAM_APP_ID = "wx-sim-miniprogram"
ALERT_TEMPLATE_ID = "sim-alert-template"
WORK_ORDER_TEMPLATE_ID = "sim-work-order-template"
DIGEST_TEMPLATE_ID = "sim-digest-template"
SMS_SIGN_NAME = "微修"
SMS_ALERT_TEMPLATE_CODE = "SMS_SIM_ALERT"
SMS_DIGEST_TEMPLATE_CODE = "SMS_SIM_DIGEST"
SMS_VERIFY_TEMPLATE_CODE = "SMS_SIM_VERIFY"
SMS_ACCOUNT_CODE_TEMPLATE_CODE = "SMS_SIM_ACCOUNT_CODE"
SUBSCRIBE_TEMPLATES = {"work_order": "sim-subscribe-work-order", "alert": "sim-subscribe-alert"}
SMS_WORK_ORDER_TEMPLATE_CODE = "SMS_SIM_WORK_ORDER"
# Registered as 验证码 templates: Aliyun limits them per number by the minute, hour and day.
CODE_TEMPLATES = (SMS_VERIFY_TEMPLATE_CODE, SMS_ACCOUNT_CODE_TEMPLATE_CODE)


@dataclass
class LocalSimulators:
    wechat: SimulatorServer
    wechat_state: WeChatState
    sms: SimulatorServer
    sms_state: SmsState

    @classmethod
    def start(cls, *, relaxed: bool = False) -> LocalSimulators:
        """Both simulators, enforcing WeChat's and Aliyun's published limits unless `relaxed`
        (throughput benchmarks and drills, which say so in their results)."""
        wechat_state = WeChatState(relaxed=relaxed)
        sms_state = SmsState(code_templates=CODE_TEMPLATES, relaxed=relaxed)
        wechat = SimulatorServer(create_wechat_simulator(wechat_state)).start()
        sms = SimulatorServer(create_aliyun_sms_simulator(sms_state)).start()
        return cls(wechat, wechat_state, sms, sms_state)

    def stop(self) -> None:
        self.wechat.stop()
        self.sms.stop()

    def settings(self) -> dict[str, object]:
        """Config keys (see config.settings._load_channels) for talking to these simulators."""
        (access_key_id, access_key_secret), *_ = self.sms_state.access_keys.items()
        return {
            "WECHAT_API_BASE_URL": self.wechat.url,
            "WECHAT_OFFICIAL_APP_ID": OFFICIAL_APP_ID,
            "WECHAT_OFFICIAL_APP_SECRET": self.wechat_state.apps[OFFICIAL_APP_ID],
            "WECHAT_MINIPROGRAM_APP_ID": MINIPROGRAM_APP_ID,
            "WECHAT_MINIPROGRAM_APP_SECRET": self.wechat_state.apps[MINIPROGRAM_APP_ID],
            "WECHAT_ALERT_TEMPLATE_ID": ALERT_TEMPLATE_ID,
            "WECHAT_WORK_ORDER_TEMPLATE_ID": WORK_ORDER_TEMPLATE_ID,
            "WECHAT_DIGEST_TEMPLATE_ID": DIGEST_TEMPLATE_ID,
            "SMS_ACCESS_KEY_ID": access_key_id,
            "SMS_ACCESS_KEY_SECRET": access_key_secret,
            "SMS_SIGN_NAME": SMS_SIGN_NAME,
            "SMS_ALERT_TEMPLATE_CODE": SMS_ALERT_TEMPLATE_CODE,
            "SMS_WORK_ORDER_TEMPLATE_CODE": SMS_WORK_ORDER_TEMPLATE_CODE,
            "SMS_DIGEST_TEMPLATE_CODE": SMS_DIGEST_TEMPLATE_CODE,
            "SMS_ENDPOINT": self.sms.netloc,
            "SMS_PROTOCOL": "http",
            "SMS_VERIFY_TEMPLATE_CODE": SMS_VERIFY_TEMPLATE_CODE,
            "SMS_ACCOUNT_CODE_TEMPLATE_CODE": SMS_ACCOUNT_CODE_TEMPLATE_CODE,
            "WECHAT_SUBSCRIBE_TEMPLATES": dict(SUBSCRIBE_TEMPLATES),
            # Subscribe messages open the development version, as a local run's would.
            "WECHAT_SUBSCRIBE_MINIPROGRAM_STATE": "developer",
        }
