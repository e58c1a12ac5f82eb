"""The `/_sim/` control API and HTML page every simulator carries.

JSON for tests (`GET /_sim/messages`, `POST /_sim/inject`, `POST /_sim/reset`, `POST /_sim/clock`
to let time pass for the simulator's windows and quotas); a page for people running the embedded
demo, with a form posting to the same inject/reset endpoints.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, redirect, render_template_string, request

from simulators.state import SimulatorState

_INT_FIELDS = ("times", "status", "errcode")
_STR_FIELDS = ("errmsg", "code", "message")

# render_template_string autoescapes: payloads come from whoever calls the simulator.
PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
pre{margin:0;white-space:pre-wrap;word-break:break-all;font-size:12px}.err{background:#fff0f0}
form{margin:.5em 0}input{width:7em}
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ records|length }} request(s), newest first. Faults queued: {{ faults or "none" }}</p>
<form method="post" action="{{ base }}/inject">
  next <input name="times" value="1"> call(s) to
  <select name="endpoint">{% for e in endpoints %}<option>{{ e }}</option>{% endfor %}</select>
  {% for name in fault_fields %}{{ name }} <input name="{{ name }}">{% endfor %}
  <button>inject</button>
</form>
<form method="post" action="{{ base }}/reset"><button>reset (forget requests, faults, users, codes)</button></form>
<table><tr><th>#</th><th>time (UTC)</th><th>endpoint</th><th>status</th><th>request</th><th>response</th></tr>
{% for r in records %}
<tr class="{{ 'err' if r.failed else '' }}"><td>{{ r.id }}</td><td>{{ r.time }}</td>
<td>{{ r.method }} {{ r.endpoint }}{% if r.note %}<br><em>{{ r.note }}</em>{% endif %}</td><td>{{ r.status }}</td>
<td><pre>{{ r.payload }}</pre></td><td><pre>{{ r.response }}</pre></td></tr>
{% endfor %}</table></body></html>"""


def simulator_app(name: str, state: SimulatorState) -> Flask:
    """The Flask app a simulator is built on, holding its state."""
    app = Flask(name)
    app.json.ensure_ascii = False
    app.json.sort_keys = False  # answer fields in the order the real API does
    app.extensions["simulator_state"] = state
    return app


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


def parse_fault(source: dict[str, Any], endpoints: Iterable[str]) -> dict[str, Any]:
    """Inject arguments from JSON or a form (where every value is a string, empty meaning unset)."""
    endpoint = source.get("endpoint")
    if endpoint not in endpoints:
        raise ValueError(f"endpoint must be one of {sorted(endpoints)}")
    fields: dict[str, Any] = {}
    for name in (*_INT_FIELDS, "delay", *_STR_FIELDS):
        value = source.get(name)
        if value is None or value == "":
            continue
        if name in _INT_FIELDS:
            fields[name] = int(value)
        elif name == "delay":
            fields[name] = float(value)
        else:
            fields[name] = str(value)
    return {"endpoint": endpoint, **fields}


def control_blueprint(
    state: SimulatorState, *, title: str, endpoints: Iterable[str], fault_fields: Iterable[str]
) -> Blueprint:
    endpoints = tuple(endpoints)
    fault_fields = tuple(fault_fields)
    bp = Blueprint("simulator_control", __name__, url_prefix="/_sim")

    def from_form() -> bool:
        # Only the page's own forms get a redirect back to the page; API callers get JSON.
        return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")

    @bp.get("/")
    def page() -> str:
        records = [
            {
                **asdict(r),
                "payload": _pretty(r.payload),
                "response": _pretty(r.response),
                "failed": r.status != 200 or _is_error(r.response),
            }
            for r in reversed(state.records())
        ]
        return render_template_string(
            PAGE,
            title=title,
            records=records,
            faults=state.faults(),
            endpoints=endpoints,
            fault_fields=fault_fields,
            base=request.script_root + "/_sim",
        )

    @bp.get("/messages")
    def messages() -> Response:
        endpoint = request.args.get("endpoint") or None
        return jsonify(messages=[asdict(r) for r in reversed(state.records(endpoint))], faults=state.faults())

    @bp.post("/inject")
    def inject():
        source = request.form.to_dict() if from_form() else request.get_json(silent=True)
        try:
            fault = state.inject(**parse_fault(source or {}, endpoints))
        except (TypeError, ValueError) as error:
            return jsonify(error=str(error)), 400
        if from_form():
            return redirect(request.script_root + "/_sim/", code=303)
        return jsonify(fault=fault.as_dict(), faults=state.faults())

    @bp.post("/clock")
    def clock():
        """{"seconds": n}: the simulator's clock moves on (rolling limits, daily quotas, dedupe)."""
        seconds = (request.get_json(silent=True) or {}).get("seconds")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 < seconds <= 366 * 86400:
            return jsonify(error="seconds must be a number between 0 and one year"), 400
        state.advance_clock(float(seconds))
        return jsonify(ok=True, now=state.now())

    @bp.post("/reset")
    def reset():
        state.reset()
        if from_form():
            return redirect(request.script_root + "/_sim/", code=303)
        return jsonify(ok=True)

    return bp


def _is_error(response: Any) -> bool:
    if not isinstance(response, dict):
        return False
    return response.get("errcode", 0) != 0 or response.get("Code", "OK") != "OK"
