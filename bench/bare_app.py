"""A bare Falcon app answering the same JSON as Regista's debug.ping, served like Regista.

The ceiling for `engine_vs_bare_falcon`: same framework, same gunicorn settings (built by the same
function), no schema, validation, dispatch or logging.
"""

from __future__ import annotations

import argparse

import falcon

from regista.server import envelope
from regista.server.config import load_config
from regista.server.runtime import gunicorn_options, run_gunicorn

BODY = envelope.render(
    "0" * 32, envelope.endpoint_meta("debug.ping", "2.1", "2.1"), 200, 0, "OK", {"msg": "pong"}
)


class Pong:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = BODY

    on_get = on_post


def create_bare_app() -> falcon.App:
    app = falcon.App()
    app.add_route("/", Pong())
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = load_config().with_overrides({"server.port": args.port, "server.workers": args.workers})
    run_gunicorn(create_bare_app(), gunicorn_options(config))


if __name__ == "__main__":
    main()
