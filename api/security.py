"""Security headers on every response, and the client address behind trusted proxies only.

Every answer carries ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``; the HTML pages
(the back-office under ``/app`` and the public verification ``/verify``) also carry a restrictive
``Content-Security-Policy`` (their own pages set a stricter one, which is kept). A response that
already sets a header keeps its value.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certification.settings import get_settings

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_PREFIXES = ("/docs", "/redoc")  # Swagger UI loads its scripts from a CDN: left to FastAPI's defaults


def _headers_for(path: str) -> dict[bytes, bytes]:
    headers = {b"x-content-type-options": b"nosniff", b"referrer-policy": b"same-origin"}
    if path.startswith(("/app", "/verify")):
        headers[b"content-security-policy"] = PAGE_CSP.encode()
        headers[b"x-frame-options"] = b"DENY"
    elif not path.startswith(DOCS_PREFIXES):
        headers[b"content-security-policy"] = API_CSP.encode()
    return headers


class SecurityHeaders:
    """Pure ASGI middleware (it does not buffer bodies, so file downloads still stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _headers_for(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *[(k, v) for k, v in extra.items() if k not in present],
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _trusted(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(proxies))


def client_address(request: Request) -> str:
    """The client's address: the peer, unless the peer is a configured proxy (``trusted_proxies``);
    then the right-most address of ``X-Forwarded-For`` not itself a trusted proxy."""
    peer = request.client.host if request.client else "?"
    proxies = tuple(get_settings().trusted_proxies)
    if not proxies or not _trusted(peer, proxies):
        return peer
    forwarded = [a.strip() for part in request.headers.getlist("x-forwarded-for") for a in part.split(",")]
    for address in reversed([a for a in forwarded if a]):
        if not _trusted(address, proxies):
            return address
    return peer
