"""The worker-floor job of bench/work_order_push.py: one plain HTTP POST, run by the product's worker.

The product's RQ worker runs it in a work horse like any job, with bench/ on its PYTHONPATH, and
every horse imports this module afresh (the worker's parent never does; with
PYTHONDONTWRITEBYTECODE=1 it is compiled afresh too). So it stays a few lines with nothing but
`json` at the top: bench/common.py, at ~600 lines, would add about 7 ms of compiling to each job.
"""

from __future__ import annotations

import json


def post_json(url: str, body: dict, params: dict | None = None, timeout_s: float = 5.0) -> int:
    """One plain HTTP POST of a JSON body (as wechatpy sends it: UTF-8 bytes); returns the status."""
    import requests  # already loaded in the product's worker (wechatpy), so free after the fork

    with requests.Session() as session:
        session.trust_env = False  # as the product's WeChat client: no proxy/.netrc lookups per call
        response = session.post(
            url, params=params, data=json.dumps(body, ensure_ascii=False).encode(), timeout=timeout_s
        )
    return response.status_code
