"""GET /d/<token>: the page a device's QR sticker opens in a phone's own browser (its camera app).

Inside WeChat the mini-program takes over this link (扫普通链接二维码打开小程序) and the URL never
changes. Any other browser gets the PC console's build, whose mobile route (`/d/:token`, a layout
of its own) shows the device's card and lets a person of its hospital sign in by SMS code, report a
fault and follow it (console_api.device_link_views, console_api.sms_sign_in).

An unknown token is a plain 404. Without a build, or in a browser too old to run it, the sticker
still names its device: a small static card (no archive details: the sticker is public) saying how
to report instead.
"""

from __future__ import annotations

from flask import Blueprint, render_template_string

from operations.devices import device_by_link_token, sticker_card
from operations.errors import NotFound
from weixiu.console_files import console_page_if_it_runs

device_page = Blueprint("device_page", __name__)

FALLBACK = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:24px;color:#222}
.card{border:1px solid #ddd;border-radius:8px;padding:16px}h1{font-size:20px;margin:0 0 12px}
.banner{background:#fff0ed;border:1px solid #d54941;color:#ad352f;border-radius:8px;padding:12px;margin:0 0 12px}
dt{color:#888;font-size:13px}dd{margin:0 0 8px;font-size:16px}.hint{margin-top:16px;color:#555;font-size:14px}</style>
</head><body>
{% if device and device.running_state == "out_of_service" %}
<p class="banner" role="alert"><strong>设备停用待修</strong>：请勿使用，等待维修。</p>{% endif %}
{% if device %}<div class="card"><h1>{{ device.name }}</h1><dl>
<dt>唯一码</dt><dd>{{ device.unique_code }}</dd>
<dt>医疗机构</dt><dd>{{ device.institution }}</dd><dt>所属科室</dt><dd>{{ device.department }}</dd>
<dt>运行状态</dt><dd>{{ device.running_state_label }}</dd></dl></div>
<p class="hint">设备故障报修：请使用微信扫描此二维码，在“微修”小程序中填写故障信息；
或使用较新版本的手机浏览器打开本页，以短信验证码登录后报修。</p>
{% else %}<div class="card"><h1>未找到设备</h1><p>该二维码未关联任何设备，请联系设备科。</p></div>{% endif %}
</body></html>"""


@device_page.get("/d/<token>")
def sticker_page(token: str):
    try:
        device = device_by_link_token(token)
    except NotFound:
        return render_template_string(FALLBACK, title="未找到设备", device=None), 404
    page = console_page_if_it_runs()
    if page is not None:
        return page
    card = sticker_card(device)
    return render_template_string(FALLBACK, title=card["name"], device=card)
