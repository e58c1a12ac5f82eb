"""二维码打印: a device's QR code as PNG or SVG, and the A4 label sheet that prints many of them.

Every code encodes `device_link_url(device)`, the stable public link, so a sticker stays valid
whatever is later edited on the device. Rendering only: who may see which device is decided by
the views.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import qrcode
from flask import render_template_string
from markupsafe import Markup
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathFillImage

# M (15 % recovery) survives a scuffed or partly dirty sticker and keeps the code small enough
# for a 30 mm label; H would need a larger version for the same link.
ERROR_CORRECTION = ERROR_CORRECT_M
# The four-module quiet zone the QR standard asks for; scanners fail on codes printed edge to edge.
QUIET_ZONE = 4
PNG_MIN_SIZE = 128
PNG_MAX_SIZE = 2048
PNG_DEFAULT_SIZE = 512  # about 43 mm at 300 dpi: a sticker with room to spare
# In qrcode's SVG a box of 10 units is 1 mm; the sheet's CSS sets the printed size anyway.
SVG_BOX_SIZE = 10


def _code(url: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=QUIET_ZONE, box_size=1)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str, size: int = PNG_DEFAULT_SIZE) -> bytes:
    """A square PNG of `size` pixels: whole-pixel modules, centred, the spare pixels white.

    Modules are drawn at an integer pixel width and never rescaled, so every module has the
    same width (a resampled code gets uneven modules that some scanners misread). If even one
    pixel per module does not fit in `size` (a link far longer than ours), the image is larger.
    """
    code = _code(url)
    modules_with_quiet_zone = code.modules_count + 2 * QUIET_ZONE
    code.box_size = max(1, size // modules_with_quiet_zone)
    symbol = code.make_image(image_factory=PilImage).get_image()
    if symbol.width < size:
        canvas = Image.new(symbol.mode, (size, size), 255)
        offset = (size - symbol.width) // 2
        canvas.paste(symbol, (offset, offset))
        symbol = canvas
    buffer = io.BytesIO()
    symbol.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def qr_svg(url: str) -> str:
    """An SVG document (one <path>, on white) of the code, without an XML declaration, so the
    same text serves as a file and inline in HTML."""
    # The Fill variant of SvgPathImage paints a white background: a downloaded file placed on
    # a coloured layout still has the light quiet zone a scanner needs.
    image = qrcode.make(
        url,
        image_factory=SvgPathFillImage,
        error_correction=ERROR_CORRECTION,
        border=QUIET_ZONE,
        box_size=SVG_BOX_SIZE,
    )
    # qrcode names the path id="qr-path"; a sheet of many inline codes would repeat that id.
    image.path.attrib.pop("id", None)
    image.path.set("shape-rendering", "crispEdges")
    return image.to_string(encoding="unicode")


@dataclass(frozen=True)
class Label:
    name: str  # 设备名称
    unique_code: str  # 唯一码
    department: str  # 所属科室
    institution: str
    url: str


SHEET = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>设备二维码标签（{{ labels|length }} 个）</title>
<style>
@page { size: A4 portrait; margin: 10mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; color: #000; }
.hint { margin: 12px 10mm; color: #555; font-size: 14px; }
/* Two columns of 95 x 38 mm: seven rows fill the 277 mm the margins leave on A4, 14 labels a page. */
.sheet { display: grid; grid-template-columns: repeat(2, 95mm); grid-auto-rows: 38mm; gap: 1.5mm 0;
  width: 190mm; margin: 0 auto; }
.label { display: flex; align-items: center; gap: 2mm; padding: 2mm; border: 0.2mm dashed #999;
  overflow: hidden; break-inside: avoid; page-break-inside: avoid; }
/* 30 mm keeps a version-3 code at about 0.8 mm a module, easy for a phone at arm's length. */
.qr { flex: 0 0 30mm; width: 30mm; height: 30mm; }
.qr svg { display: block; width: 30mm; height: 30mm; }
.text { flex: 1 1 auto; min-width: 0; font-size: 9pt; line-height: 1.35; }
.name { font-size: 11pt; font-weight: bold; margin-bottom: 1mm; max-height: 3em; overflow: hidden;
  overflow-wrap: anywhere; }
.row { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.key { color: #444; }
.institution { margin-top: 1mm; font-size: 8pt; color: #333; overflow-wrap: anywhere; max-height: 2.7em;
  overflow: hidden; }
@media print {
  .hint { display: none; }
  .label { border-color: #bbb; }
  body { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style></head><body>
<p class="hint">共 {{ labels|length }} 个设备标签。请使用浏览器打印（Ctrl+P），纸张选 A4、缩放选“实际大小”（100%）。</p>
<main class="sheet">
{%- for label in labels %}
<section class="label">
<div class="qr">{{ label.svg }}</div>
<div class="text">
<div class="name">{{ label.name }}</div>
<div class="row"><span class="key">唯一码：</span>{{ label.unique_code }}</div>
<div class="row"><span class="key">所属科室：</span>{{ label.department }}</div>
<div class="institution">{{ label.institution }}</div>
</div>
</section>
{%- endfor %}
</main>
</body></html>"""


def label_sheet_html(labels: list[Label]) -> str:
    """The printable A4 sheet. Flask autoescapes string templates, so names print as text."""
    rendered = [
        {
            "name": label.name,
            "unique_code": label.unique_code,
            "department": label.department,
            "institution": label.institution,
            # Built by ElementTree from our own link, so it is well-formed markup, safe to inline.
            "svg": Markup(qr_svg(label.url)),
        }
        for label in labels
    ]
    return render_template_string(SHEET, labels=rendered)
