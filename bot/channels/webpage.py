"""The bureau's help page with its chat widget, served by the Rasa server itself at ``/``.

The page (bot/web/) talks to the socket.io channel (bot/channels/socketio.py) on the same
origin, so one port serves everything and CORS can stay closed to every other site.

Rasa mounts a channel's blueprint under ``/webhooks/<url_prefix>``, and before it registers
any channel it adds its own ``GET /`` ("Hello from Rasa: <version>"). Sanic refuses two
routes for ``GET /`` (RouteExists at start-up), so this channel's blueprint registers its
routes at the site root and takes ``/`` over from Rasa's greeting. Nothing else relies on
that greeting: health checks get the page with a 200 from the same path.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
SOCKET_IO_CLIENT = WEB_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

# Every file the page may fetch, by its name under /static/. An allow-list rather than a
# directory: package.json, the lockfile and the rest of node_modules stay private, and
# there is no path to traverse.
STATIC_FILES: dict[str, tuple[Path, str]] = {
    "chat.js": (WEB_ROOT / "chat.js", "text/javascript; charset=utf-8"),
    "render.js": (WEB_ROOT / "render.js", "text/javascript; charset=utf-8"),
    "chat.css": (WEB_ROOT / "chat.css", "text/css; charset=utf-8"),
    "socket.io.min.js": (SOCKET_IO_CLIENT, "text/javascript; charset=utf-8"),
}
INDEX = (WEB_ROOT / "index.html", "text/html; charset=utf-8")

# Defence in depth behind the widget's textContent-only rendering: no inline script or
# style, nothing from other origins, no framing. 'self' in connect-src covers the
# same-origin WebSocket (ws:/wss:) in current browsers.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The files change with the code; a reload must never pair a new page with an old script.
    "Cache-Control": "no-cache",
}

RASA_ROOT_ROUTE_SUFFIX = ".hello"


def take_over_site_root(app: Sanic) -> None:
    """Remove Rasa's ``GET /`` greeting route so the page can have ``/``.

    Only Rasa's route (named ``<app>.hello``, with or without the HTTP API) is removed;
    anything else at ``/`` is left alone, and registering the page then fails loudly with
    RouteExists. Runs before Sanic finalises its router at start-up.
    """
    router = app.router
    for segments, group in list(router.static_routes.items()):
        if all(
            route.name.endswith(RASA_ROOT_ROUTE_SUFFIX) and route.path in ("", "/")
            for route in group.routes
        ):
            del router.static_routes[segments]
            for route in group.routes:
                router.name_index.pop(route.name, None)


class SiteRootBlueprint(Blueprint):
    """A blueprint whose routes live at the site root, not under Rasa's channel prefix."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        take_over_site_root(app)
        super().register(app, {**options, "url_prefix": None})


async def _send(path: Path, content_type: str) -> HTTPResponse:
    if not path.is_file():
        raise NotFound("not found")
    return await response.file(path, mime_type=content_type, headers=SECURITY_HEADERS)


class WebPageInput(InputChannel):
    """Serves the help page and its static files; messages go through socket.io."""

    @classmethod
    def name(cls) -> str:
        return "webpage"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if not SOCKET_IO_CLIENT.is_file():
            logger.warning(
                "webpage: %s is missing, so the chat widget cannot connect. Install the "
                "page's packages: npm ci --prefix bot/web (make run does).",
                SOCKET_IO_CLIENT,
            )
        page = SiteRootBlueprint("webpage", __name__)

        @page.route("/", methods=["GET"])
        async def index(_: Request) -> HTTPResponse:
            return await _send(*INDEX)

        @page.route("/static/<name:str>", methods=["GET"])
        async def static(_: Request, name: str) -> HTTPResponse:
            if name not in STATIC_FILES:
                raise NotFound("not found")
            return await _send(*STATIC_FILES[name])

        return page
