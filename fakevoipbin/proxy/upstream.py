"""Where the proxy forwards a request: the upstream's URL, and the path under it.

The upstream is named by its API base (``https://api.voipbin.net/v1.0``, checked by
``options.check_upstream``). A client's ``/v1.0/...`` goes under that base; anything
else (``/auth/login``, ``/openapi.yaml``) goes to the upstream's root, its URL less
``/v1.0``.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from ..options import API_BASE_PATH, shown_url


@dataclass(frozen=True)
class Upstream:
    #: ``scheme://host[:port]``, as given (a user and password in it are kept for the
    #: requests, never printed).
    origin: str
    #: The path of the API's base on the upstream, ending in /v1.0.
    base_path: str
    #: What the Host header of a forwarded request says.
    host: str

    @classmethod
    def parse(cls, url: str) -> Upstream:
        """An upstream from a URL ``check_upstream`` has passed."""
        parts = urllib.parse.urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return cls(f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/"), netloc)

    @property
    def url(self) -> str:
        """The API's base URL on the upstream, safe to print."""
        return shown_url(self.origin + self.base_path)

    def url_for(self, path: str, query: str) -> str:
        """The upstream URL of a client's path (as sent, still percent-encoded) and query."""
        if path == API_BASE_PATH or path.startswith(API_BASE_PATH + "/"):
            path = self.base_path + path[len(API_BASE_PATH) :]
        else:
            path = self.base_path[: -len(API_BASE_PATH)] + path
        return self.origin + path + (f"?{query}" if query else "")
