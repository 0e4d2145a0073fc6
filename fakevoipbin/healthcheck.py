"""``python -m fakevoipbin.healthcheck``: the image's HEALTHCHECK, with no curl.

It asks ``GET /ping`` of the fake that ``fakevoipbin serve`` would start from the same
environment (the ``FAKEVOIPBIN_<NAME>`` variables: its port, and https under
``FAKEVOIPBIN_TLS`` unless ``FAKEVOIPBIN_INTERCEPT`` keeps the port plain), at the
address it listens on (loopback when it listens on all), and exits 0 when it answers
200, 1 otherwise, with one line saying why.
Under TLS it does not check the certificate: it asks its own container, and the CA may
be in a temporary folder.
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.error
import urllib.request

from .exitcodes import CANNOT_START, OK
from .options import OptionError, Options, from_command_line, root_url

#: A check that has not answered in this long has failed (the HEALTHCHECK's timeout is 3 s).
TIMEOUT_S = 2.5


def ping_url(options: Options) -> str:
    """Where the fake that ``options`` describe answers ``GET /ping``, from inside."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(options.host, options.host)
    return root_url(host, options.port, options.scheme) + "/ping"


def check(options: Options) -> str | None:
    """None when the fake answers ``/ping`` with 200, else why not (one line)."""
    context = ssl._create_unverified_context() if options.scheme == "https" else None
    url = ping_url(options)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S, context=context) as answer:
            if answer.status == 200:
                return None
            return f"{url} answered {answer.status}"
    except urllib.error.HTTPError as err:
        return f"{url} answered {err.code}"
    except (OSError, urllib.error.URLError) as err:
        return f"{url}: {getattr(err, 'reason', err)}"


def main() -> int:
    try:
        options = from_command_line({}, "serve", os.environ)
    except OptionError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return CANNOT_START
    why = check(options)
    if why is not None:
        print(f"unhealthy: {why}", file=sys.stderr)
        return CANNOT_START
    return OK


if __name__ == "__main__":
    sys.exit(main())
