"""CORS as production answers it (gin-contrib/cors v1.7.6, configured in
bin-api-manager's main.go): any origin, credentials off, max age 12 h.

Written here rather than taken from Starlette's ``CORSMiddleware``, because that
middleware cannot be configured to send production's exact headers:

- it answers a preflight with 200 and the text ``OK``; production, 204 and no body;
- it takes an OPTIONS as a preflight only beside ``Access-Control-Request-Method``;
  production, any OPTIONS that carries an ``Origin``;
- it joins methods and headers with ``", "`` and adds the CORS-safelisted headers
  (``Accept-Language``, ``Content-Language``) to the allowed list; production sends
  its lists as configured, joined with ``","``;
- it adds ``Vary: Origin`` to every answer, and CORS headers to same-origin
  requests (``Origin`` equal to the ``Host``), which production leaves alone.
"""

from __future__ import annotations

ALLOW_METHODS = b"POST,GET,PUT,DELETE,PATCH,HEAD,OPTIONS"
ALLOW_HEADERS = b"Origin,X-Requested-With,Content-Type,Accept,Authorization"
MAX_AGE = b"43200"

ANY_ORIGIN = (b"access-control-allow-origin", b"*")
EXPOSE = (b"access-control-expose-headers", b"Content-Length")
PREFLIGHT = [
    ANY_ORIGIN,
    (b"access-control-allow-methods", ALLOW_METHODS),
    (b"access-control-allow-headers", ALLOW_HEADERS),
    (b"access-control-max-age", MAX_AGE),
]


def is_cross_origin(headers: dict[str, str]) -> bool:
    """An ``Origin`` that is not this server's own (``http(s)://`` + Host)."""
    origin = headers.get("origin")
    if not origin:
        return False
    host = headers.get("host", "")
    return origin not in (f"http://{host}", f"https://{host}")


def is_preflight(method: str, headers: dict[str, str]) -> bool:
    """Any cross-origin OPTIONS: production answers it 204 before routing it."""
    return method == "OPTIONS" and is_cross_origin(headers)


def headers_for(method: str, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """The CORS headers an answer to this request carries (none for same origin)."""
    if not is_cross_origin(headers):
        return []
    if method == "OPTIONS":
        return list(PREFLIGHT)
    return [ANY_ORIGIN, EXPOSE]
