"""The limit the ClearML SDK sets on reporting: `events.add_batch` answered at once, storing nothing, under
the same gunicorn settings as Regista. Every other call (log-in, Task.init, task updates, close) is handed
to a real Regista (`--upstream`), so the SDK runs exactly as it does against a server, and only the
reporting it times costs nothing. Each answered batch prints one `add_batch <events>` line to stderr: the
bench counts the calls there.
"""

from __future__ import annotations

import argparse
import sys

import falcon
import requests

from regista.server import envelope
from regista.server.config import load_config
from regista.server.runtime import gunicorn_options, run_gunicorn

FORWARDED_HEADERS = ("Authorization", "Content-Type", "X-Clearml-Version", "X-Clearml-Client", "X-Clearml-Worker")


class Stub:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.session: requests.Session | None = None  # one per worker, made after gunicorn forks

    def __call__(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = req.bounded_stream.read()
        resp.content_type = falcon.MEDIA_JSON
        if req.path.endswith("events.add_batch"):
            events = body.count(b"\n") + 1 if body.strip() else 0
            print(f"add_batch {events}", file=sys.stderr, flush=True)
            meta = envelope.endpoint_meta("events.add_batch", None, None)
            resp.data = envelope.render(envelope.new_call_id(), meta, 200, 0, "OK", {"added": events, "errors": 0, "errors_info": {}})
            return
        if self.session is None:
            self.session = requests.Session()
        headers = {name: req.get_header(name) for name in FORWARDED_HEADERS if req.get_header(name)}
        answer = self.session.request(
            req.method, f"{self.upstream}{req.relative_uri}", data=body, headers=headers, timeout=60, allow_redirects=False
        )  # fmt: skip
        resp.status = answer.status_code
        resp.content_type = answer.headers.get("Content-Type", falcon.MEDIA_JSON)
        resp.data = answer.content


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the Regista every call but events.add_batch goes to")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    app = falcon.App()
    app.add_sink(Stub(args.upstream), prefix="/")
    config = load_config().with_overrides({"server.port": args.port, "server.workers": args.workers})
    run_gunicorn(app, gunicorn_options(config))


if __name__ == "__main__":
    main()
