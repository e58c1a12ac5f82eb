"""Local stand-ins for WeChat and Aliyun SMS, served over real HTTP (tests and the embedded demo).

Run one with `SimulatorServer(create_wechat_simulator(WeChatState()))` as a context manager and
point the real clients at `server.url` / `server.netloc` with `channels.providers`; or start both
with `simulators.local.LocalSimulators`, whose `settings()` are the config keys that use them.
"""

from simulators.aliyun_sms import create_aliyun_sms_simulator
from simulators.server import SimulatorServer
from simulators.state import SmsState, WeChatState
from simulators.wechat import create_wechat_simulator

__all__ = ["SimulatorServer", "SmsState", "WeChatState", "create_aliyun_sms_simulator", "create_wechat_simulator"]
