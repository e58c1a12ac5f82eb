"""设备档案导入 of a large workbook, run on the queue with its progress where anyone can read it.

Above IMPORT_SYNC_MAX_ROWS rows the request parses the workbook, answers 202 with an import id
and leaves the rest to a worker. The worker checks and writes every row in one transaction, as
the synchronous import does: all of it or nothing. Its progress, result and row errors live in
Redis under the import id (a day's expiry), so any web process, and a worker started after a
crash, read the same state; a job that stopped reporting (its worker died) reads as failed, and
nothing of it was written since its transaction never committed.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from connections import redis as redis_connection
from jobs.queues import BULK, job_queues
from models import AuditEntry, Edge, Role, User, db
from operations import devices
from operations.actors import Actor
from operations.errors import NotFound, PermissionDenied, RowErrors, merge_row_errors

log = logging.getLogger("weixiu.imports")

KEY = "weixiu:device-import:{}"
JOB_ID = "device-import-{}"
KEEP_FOR = timedelta(days=1)
JOB_TIMEOUT_SECONDS = 30 * 60
# A running import reports at least every PROGRESS_EVERY rows; silent this long, its worker is gone.
STALE_AFTER = timedelta(minutes=10)
# Where each stage of the work sits on the progress bar (percent from, to).
STAGES = {"queued": (0, 0), "check": (5, 45), "prepare": (45, 60), "save": (60, 99)}
STAGE_LABELS = {
    "queued": "排队中",
    "check": "校验中",
    "prepare": "校验中",
    "save": "写入中",
    "succeeded": "导入成功",
    "failed": "未导入",
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _save(state: dict[str, Any]) -> None:
    state["updated_at"] = _now()
    redis_connection.redis().set(KEY.format(state["id"]), json.dumps(state, ensure_ascii=False), ex=KEEP_FOR)


def _load(import_id: str) -> dict[str, Any] | None:
    raw = redis_connection.redis().get(KEY.format(import_id))
    return json.loads(raw) if raw else None


def start_import(actor: Actor, rows: list, cell_errors: dict[int, dict[str, str]], *, update_existing: bool) -> dict:
    """Record a queued import of these parsed rows and put it on the queue; its state."""
    state = {
        "id": secrets.token_hex(12),
        "institution_id": actor.institution_id,
        "user_id": actor.user_id,
        "mode": "update" if update_existing else "create",
        "status": "queued",
        "stage": "queued",
        "total": len(rows),
        "percent": 0,
        "result": None,
        "rows": [],
        "message": None,
        "created_at": _now(),
    }
    _save(state)
    job_queues.queue(BULK).enqueue(
        run_import,
        state["id"],
        rows,
        {str(row): cells for row, cells in cell_errors.items()},
        job_timeout=JOB_TIMEOUT_SECONDS,
        job_id=JOB_ID.format(state["id"]),
        result_ttl=0,
        failure_ttl=int(KEEP_FOR.total_seconds()),
    )
    return state


def run_import(import_id: str, rows: list, cell_errors: dict[str, dict[str, str]]) -> None:
    """The job: check and write every row in one transaction, reporting as it goes."""
    state = _load(import_id)
    if state is None:  # expired before a worker took it
        return
    user = db.session.get(User, state["user_id"])
    if user is None or not user.is_active or user.institution_id != state["institution_id"]:
        state.update(status="failed", stage="failed", message="导入人账号已停用，未导入任何数据")
        _save(state)
        return
    actor = Actor.of(user, Edge.PC)
    last_percent = -1

    def progress(stage: str, done: int, total: int) -> None:
        nonlocal last_percent
        low, high = STAGES[stage]
        percent = low + (high - low) * done // max(total, 1)
        if percent != last_percent:
            last_percent = percent
            state.update(status="running", stage=stage, percent=percent)
            _save(state)

    progress("check", 0, 1)
    try:
        try:
            counts = devices.import_devices(
                actor, rows, update_existing=state["mode"] == "update", progress=progress, import_id=import_id
            )
            domain_errors: list[dict] = []
        except RowErrors as error:
            domain_errors = error.rows
        errors = merge_row_errors({int(row): cells for row, cells in cell_errors.items()}, domain_errors, rows)
        if errors:
            db.session.rollback()
            state.update(status="failed", stage="failed", rows=errors, message=RowErrors(errors).message, percent=100)
            _save(state)
            return
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.exception("device import %s failed", import_id)
        message = getattr(error, "message", None) or "导入失败，未导入任何数据，请稍后重试"
        state.update(status="failed", stage="failed", message=message, percent=100)
        _save(state)
        return
    state.update(status="succeeded", stage="succeeded", result=counts, percent=100)
    _save(state)


def read_import(actor: Actor, import_id: str) -> dict[str, Any]:
    """An import's state for the manager of the institution it imports into; others: not found."""
    if actor.role is not Role.EQUIPMENT_MANAGER:
        raise PermissionDenied("仅设备科管理员可以执行此操作")
    state = _load(import_id) if len(import_id) <= 64 else None
    if state is None or state["institution_id"] != actor.institution_id:
        raise NotFound("导入记录不存在或已过期")
    stale = state["status"] == "running" and (
        datetime.now(UTC) - datetime.fromisoformat(state["updated_at"]) > STALE_AFTER
    )
    if stale or (state["status"] == "queued" and _job_lost(state["id"])):
        # The progress went quiet or the job is gone: the database says whether the rows landed
        # (the import commits its id with them), not the silence.
        landed = _committed_counts(state)
        if landed is not None:
            state.update(status="succeeded", stage="succeeded", result=landed, percent=100)
        elif not (stale and _job_status(state["id"]) is JobStatus.STARTED):  # still at work: wait
            state.update(status="failed", stage="failed", message=STOPPED)
    return state


STOPPED = "导入已中断（处理进程停止），未导入任何数据，请重新导入"


def _committed_counts(state: dict[str, Any]) -> dict[str, int] | None:
    """The counts of the import's 操作日志 row, committed in the same transaction as its rows; None
    when it did not commit."""
    entries = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.institution_id == state["institution_id"],
            AuditEntry.entity_type == "device",
            AuditEntry.action == "import",
            AuditEntry.occurred_at >= datetime.fromisoformat(state["created_at"]),
        )
    )
    for entry in entries:
        changes = entry.changes or {}
        if changes.get("import_id", [None, None])[1] == state["id"]:
            return {name: changes[name][1] for name in ("created", "updated", "unchanged") if name in changes}
    return None


def _job_status(import_id: str) -> JobStatus | None:
    try:
        return Job.fetch(JOB_ID.format(import_id), connection=redis_connection.redis()).get_status(refresh=False)
    except NoSuchJobError:
        return None


def _job_lost(import_id: str) -> bool:
    """The queue no longer holds a live job for this import (it failed before it began, or went)."""
    return _job_status(import_id) in (None, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def public_state(state: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of an import."""
    return {
        "id": state["id"],
        "status": state["status"],
        "stage_label": STAGE_LABELS.get(state["stage"], ""),
        "mode": state["mode"],
        "total": state["total"],
        "percent": state["percent"],
        "result": state["result"],
        "rows": state["rows"],
        "message": state["message"],
        "created_at": state["created_at"],
        "updated_at": state["updated_at"],
    }
