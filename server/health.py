"""GET /health: for load balancers and supervisors. 200 when the server and its database answer."""

from __future__ import annotations

import falcon
from mongoengine.connection import get_db
from pymongo.errors import PyMongoError

from regista import __version__
from regista.server import envelope


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            get_db().command("ping")
            status, database = 200, "ok"
        except PyMongoError as exc:
            status, database = 503, f"unreachable: {type(exc).__name__}"
        resp.status = status
        resp.content_type = falcon.MEDIA_JSON
        resp.data = envelope.dumps({"status": "ok" if status == 200 else "unavailable", "database": database, "version": __version__})

    on_head = on_get
