"""GET /d/<token>: the page a device's QR sticker opens outside the mini-program.

Inside WeChat the mini-program takes over this link (扫普通链接二维码打开小程序); any other
browser gets this small mobile page naming the device and telling the reader how to report a
fault. It shows no archive details: the sticker is public.
"""

from flask import Blueprint, Response, abort, current_app, render_template_string

from models import Department, Institution, db
from operations.devices import device_by_link_token
from operations.errors import NotFound

device_link = Blueprint("device_link", __name__)

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:24px;color:#222}
.card{border:1px solid #ddd;border-radius:8px;padding:16px}h1{font-size:20px;margin:0 0 12px}
dt{color:#888;font-size:13px}dd{margin:0 0 8px;font-size:16px}.hint{margin-top:16px;color:#555;font-size:14px}</style>
</head><body>
{% if device %}<div class="card"><h1>{{ device.name }}</h1><dl>
<dt>唯一码</dt><dd>{{ device.unique_code }}</dd>
<dt>医疗机构</dt><dd>{{ institution }}</dd><dt>所属科室</dt><dd>{{ department }}</dd></dl></div>
<p class="hint">设备故障报修：请使用微信扫描此二维码，在“微修”小程序中填写故障信息。</p>
{% else %}<div class="card"><h1>未找到设备</h1><p>该二维码未关联任何设备，请联系设备科。</p></div>{% endif %}
</body></html>"""


@device_link.get("/d/<token>")
def device_page(token: str):
    try:
        device = device_by_link_token(token[:64])
    except NotFound:
        return render_template_string(PAGE, title="未找到设备", device=None), 404
    return render_template_string(
        PAGE,
        title=device.name,
        device=device,
        institution=db.session.get(Institution, device.institution_id).name,
        department=db.session.get(Department, device.department_id).name,
    )


@device_link.get("/<string:name>.txt")
def link_verification_file(name: str):
    """The verification file WeChat fetches from the domain's root before it lets the sticker links
    open the mini-program (扫普通链接二维码打开小程序): its name and content are given in the
    mini-program's admin console and configured here."""
    expected = current_app.config.get("WECHAT_LINK_VERIFY_FILE")
    content = current_app.config.get("WECHAT_LINK_VERIFY_CONTENT")
    if not expected or not content or f"{name}.txt" != expected:
        abort(404)
    return Response(content, mimetype="text/plain")
