"""Errors the domain raises; each edge maps them to its own answer (HTTP status, bot reply)."""

from __future__ import annotations

from contextlib import contextmanager


class DomainError(Exception):
    """Base class. `message` is shown to a person, so it is written in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing does not exist, or the actor may not know that it exists."""


class PermissionDenied(DomainError):
    """The actor can see the thing but may not do this to it."""


class Conflict(DomainError):
    """The request is well-formed but clashes with the current state; `fields` names the field
    that clashes (a taken 唯一码) when there is one, so a form shows it beside that field."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class InvalidInput(DomainError):
    """One or more fields break a rule; `fields` maps each field to its reason."""

    def __init__(self, fields: dict[str, str], message: str = "提交的内容有误") -> None:
        super().__init__(message)
        self.fields = fields


class RowErrors(DomainError):
    """A bulk input (a workbook) has bad rows; nothing was written."""

    def __init__(self, rows: list[dict], message: str = "导入文件中有错误，未导入任何数据") -> None:
        super().__init__(message)
        self.rows = rows


def merge_row_errors(
    cell_errors: dict[int, dict[str, str]], domain_rows: list[dict], rows: list | None = None
) -> list[dict]:
    """One list of bad rows in row order: the cells' reasons, then the domain's; each with the
    row's 设备名称 and 唯一码 as read from `rows` ((row number, fields) pairs), so a person finds it.

    The domain saw a row without its unreadable cells, so it may also call such a column
    missing ("设备名称必填"); the cell's own reason says more, and the domain's is dropped.
    Domain reasons begin with the column's label, which is what ties the two together. Both the
    upload answer and the import job call it, so the wording of a bad row is the same either way.
    """
    reasons = {row: [f"{label}：{reason}" for label, reason in cells.items()] for row, cells in cell_errors.items()}
    for entry in domain_rows:
        failed = cell_errors.get(entry["row"], {})
        extra = [reason for reason in entry["reasons"] if not any(reason.startswith(label) for label in failed)]
        if extra:
            reasons.setdefault(entry["row"], []).extend(extra)
    fields_of = {int(number): fields for number, fields in rows or ()}

    def named(row: int) -> dict:
        fields = fields_of.get(row, {})
        return {
            "row": row,
            "name": fields.get("name"),
            "unique_code": fields.get("unique_code"),
            "reasons": reasons[row],
        }

    return [named(row) for row in sorted(reasons)]


class GatheredErrors:
    """Several checks' field errors, gathered so one answer names them all (a device and the
    certificates saved with it). `raise_any` answers 422 if any is invalid input, else 409."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.conflicts: list[str] = []
        self.invalid = False

    @contextmanager
    def check(self, prefix: str = ""):
        try:
            yield
        except InvalidInput as error:
            self.invalid = True
            self.fields |= {prefix + name: reason for name, reason in error.fields.items()}
        except Conflict as error:
            if not error.fields:
                raise
            self.conflicts.append(error.message)
            self.fields |= {prefix + name: reason for name, reason in error.fields.items()}

    def raise_any(self) -> None:
        if self.invalid:
            raise InvalidInput(self.fields)
        if self.fields:
            raise Conflict("；".join(self.conflicts), self.fields)
