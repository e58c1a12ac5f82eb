"""The stable public link of a device: what its QR sticker encodes."""

from flask import current_app

from models import Device


def device_link_url(device: Device) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/d/{device.link_token}"
