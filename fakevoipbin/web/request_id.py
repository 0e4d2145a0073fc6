"""X-Request-Id as production sets it (bin-api-manager's RequestID middleware)."""

from __future__ import annotations

import re

from ..core.seeds import Seeds

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


#: The seed's stream for the API's request ids, and for every other answer's (the
#: control API, ``/ping``, the spec file): a control call never shifts the API's ids.
API_IDS = "request-ids"
SIDE_IDS = "side-request-ids"


def request_id_for(headers: dict[str, str], seeds: Seeds, purpose: str = API_IDS) -> str:
    """The client's own X-Request-Id when it is 1 to 64 characters of
    ``[A-Za-z0-9_-]``; otherwise ``req_`` and 26 base32 characters from the seed's
    ``purpose`` stream (``API_IDS`` or ``SIDE_IDS``)."""
    given = headers.get("x-request-id", "")
    if given and _CLIENT_ID.match(given):
        return given
    return seeds.request_id(purpose)
