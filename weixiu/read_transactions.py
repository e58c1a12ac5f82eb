"""A read ends its transaction in COMMIT: the transaction of a GET or HEAD answered without error
ends in COMMIT rather than in the ROLLBACK of the session's close. psycopg forgets every prepared
statement of a connection at a rollback, and a web worker's pooled connections serve every kind of
request: the console's and the mini-program's reads committed already (their route table did it
for them alone), but the load balancer's check (/healthz/ready, every second or so) and the device
pages rolled back, and the next statements of any endpoint on that connection, the webhook's list among them, ran
unprepared and were planned afresh until prepared again (bench/README.md, webhook_command.py,
sixth pass). A streamed answer keeps its transaction (its body is read later); an error, raised or
answered (4xx, 5xx), rolls back as before.
"""

from __future__ import annotations

from flask import Flask, Response, request

from models import db

READ_METHODS = frozenset({"GET", "HEAD"})


def commit_a_read(response: Response) -> Response:
    # registry.has(): a request that never used the session (the liveness probe) makes none here
    if (
        request.method in READ_METHODS
        and response.status_code < 400
        and not response.is_streamed
        and db.session.registry.has()
        and db.session().in_transaction()
    ):
        db.session.commit()
    return response


def install(app: Flask) -> None:
    app.after_request(commit_a_read)
