"""Typing a date into a TDesign date picker the way a person does, and the same in every browser test.

The picker takes typed text only while its panel is open, and Enter both commits the text and closes
the panel. Every step waits for the one before it: on CI's busy runs a fill sent before the panel
had opened was wiped when it did, and a panel still open lay over the field below and took its click.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

OPEN_PANELS = ".t-date-picker__panel:visible"


def type_date(page: Page, field: Locator, value: str) -> None:
    """Type `value` (YYYY-MM-DD) into the picker whose input is `field`; return once the picker
    shows it and its panel is closed."""
    panels = page.locator(OPEN_PANELS)
    expect(panels).to_have_count(0)
    field.click()
    expect(panels).to_have_count(1)
    field.fill(value)
    field.press("Enter")
    expect(field).to_have_value(value)
    expect(panels).to_have_count(0)
    expect(field).to_have_value(value)


def pick_date(page: Page, placeholder: str, value: str) -> None:
    """The picker found by its placeholder (the console's pickers all carry one)."""
    type_date(page, page.get_by_placeholder(placeholder), value)
