"""Which requests a browser's session cookie may authenticate: those of Regista's own pages.

A browser sends the `regista_token` cookie (SameSite=Lax) with a top-level navigation from another site's
page, and with any request of a page of the same site (another subdomain); every API action answers GET.
So a link elsewhere could make a signed-in browser change things (cross-site request forgery). A call
authenticated by the cookie alone (no Authorization header, which no other page can add) is served when:

- its route is one a person opens in a tab (the web UI's page, file and artifact downloads) and it only
  reads (GET, HEAD): whoever links there, reading does no harm; or
- it is no navigation (a link, a form, an address typed: Regista's pages call the API with fetch/XHR) and
  the browser shows it comes from Regista's own origin: `Sec-Fetch-Site` is `same-origin` (or `none`),
  or else `Origin`, or else `Referer`, is the server's public address (server.public_url, to be set
  behind a reverse proxy that changes the Host; otherwise the scheme and Host the browser used). Browsers
  send `Sec-Fetch-*` to https sites and localhost only, and `Origin` on a same-origin GET not at all,
  hence the `Referer`: Regista's pages send it to their own origin (Referrer-Policy: same-origin).

Clients that send Authorization (SDKs, curl, the agent) are not concerned.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from regista.server.errors import ApiError

OWN_SITES = ("same-origin", "none")
NAVIGATION_DESTINATIONS = ("document", "iframe", "frame", "embed", "object")
READS = ("GET", "HEAD")


class CookieRules:
    def __init__(self, public_url: str = ""):
        parts = urlsplit(public_url) if public_url else None
        self._public_origin = f"{parts.scheme}://{parts.netloc}".lower() if parts and parts.netloc else ""

    def check(self, req: Any, navigable: bool = False) -> None:
        """ApiError unless a request the cookie alone authenticates may be served (see the module)."""
        if navigable and req.method in READS:
            return
        if self._navigation(req):
            raise ApiError(
                "cross_site_request",
                "a link, a form or an address opened in the browser cannot call the API with your Regista session",
            )
        site = (req.get_header("Sec-Fetch-Site") or "").lower()
        if site:
            if site not in OWN_SITES:
                raise ApiError(
                    "cross_site_request",
                    f"a page of another site ({site}) cannot use your Regista session: send an Authorization header",
                )
            return
        origin = (req.get_header("Origin") or "").lower()
        if origin and origin != "null":
            if not self._own(origin, req):
                raise ApiError("cross_site_request", f"a page of {origin} cannot use your Regista session")
            return
        referer = urlsplit(req.get_header("Referer") or "")
        if not (referer.scheme and referer.netloc and self._own(f"{referer.scheme}://{referer.netloc}".lower(), req)):
            raise ApiError(
                "cross_site_request",
                "nothing shows this request comes from Regista's own pages (Sec-Fetch-Site, Origin, Referer): your "
                "Regista session is for those only; send an Authorization header",
            )

    def _own(self, origin: str, req: Any) -> bool:
        if self._public_origin:
            return origin == self._public_origin
        host = (req.get_header("Host") or "").lower()
        return bool(host) and origin == f"{req.scheme}://{host}"

    @staticmethod
    def _navigation(req: Any) -> bool:
        """A link, form or typed address: by Sec-Fetch-Mode/Dest where the browser sends them, else by what
        only navigations send (HTML first in Accept, Upgrade-Insecure-Requests), which no page can change."""
        mode = (req.get_header("Sec-Fetch-Mode") or "").lower()
        if mode:
            return mode == "navigate" or (req.get_header("Sec-Fetch-Dest") or "").lower() in NAVIGATION_DESTINATIONS
        accept = (req.get_header("Accept") or "").lower()
        return accept.startswith("text/html") or req.get_header("Upgrade-Insecure-Requests") is not None
