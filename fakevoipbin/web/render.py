"""Access keys as response bytes: each key rendered, validated and encoded once per
change (and profile), then reused by get, update, delete and every list page.

A cached rendering was checked against openapi.yaml when it was made; a list page
is those checked items inside a checked envelope, so validation stays on while a
repeated page costs a join.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import views
from ..core.profiles import Profile
from ..core.store import AccessKey
from ..spec import Finding, Spec, findings
from .encoding import encode_flat, encode_json


def _is_token(text: str) -> bool:
    """``^vb_[A-Za-z0-9_-]{32}$``, the spec's token pattern, without the regex engine."""
    rest = text[3:]
    if len(text) != 35 or not text.startswith("vb_") or not rest.isascii():
        return False
    alnum = rest.replace("-", "").replace("_", "")
    return not alnum or alnum.isalnum()


class InvalidResponse(Exception):
    """What the fake was about to send breaks openapi.yaml."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(f.description for f in findings))
        self.findings = findings


class Renderer:
    """``refuse`` is told what broke the spec and answers whether to refuse the
    rendering (strict) or send it anyway (log, off)."""

    def __init__(self, spec: Spec, refuse: Callable[[list[Finding]], bool]) -> None:
        self.item = spec.schema_validator("Accesskey")
        self.page = spec.schema_validator("AccesskeyList")
        self.created_check = spec.schema_validator("AccesskeyCreated")
        self._pages: dict[tuple[Any, ...], bytes] = {}
        self.refuse = refuse

    def _check(self, validator: Any, obj: Any) -> None:
        if validator.is_valid(obj):  # compiled: a yes costs microseconds
            return
        found = findings(validator, obj)
        if found and self.refuse(found):
            raise InvalidResponse(found)

    def key(self, profile: Profile, key: AccessKey) -> bytes:
        """The key as GET shows it (never with its token), from the cache when the
        key has not changed since."""
        cached = key.rendered
        if (
            cached is not None
            and key.rendered_version == key.version
            and key.rendered_profile is profile
        ):
            return cached
        obj = views.key_view(profile, key)
        self._check(self.item, obj)
        data = encode_flat(obj)
        key.rendered = data
        key.rendered_profile = profile
        key.rendered_version = key.version
        return data

    def created(self, profile: Profile, key: AccessKey, token: str) -> bytes:
        """The create response: the key's checked rendering with its raw token spliced
        in before ``token_prefix`` (the spec's AccesskeyCreated is Accesskey plus a
        ``token`` of the documented pattern)."""
        data = self.key(profile, key)
        at = data.find(b',"token_prefix":')
        if at < 0 or not _is_token(token) or token[:11] != key.token_prefix:
            obj = views.key_view(profile, key, raw_token=token)
            self._check(self.created_check, obj)
            return encode_json(obj)
        # The token is of the spec's pattern: nothing in it needs escaping.
        return b"".join((data[:at], b',"token":"', token.encode("ascii"), b'"', data[at:]))

    def page_of(
        self,
        profile: Profile,
        keys: list[AccessKey],
        token: str | None,
        identity: tuple[Any, ...] | None = None,
    ) -> bytes:
        """A list page: the keys' checked renderings inside a checked envelope. A page
        whose ``identity`` (customer, its version, cursor, size) was rendered before is
        served from a small cache: any change to the customer changes the identity."""
        if identity is not None:
            cached = self._pages.get((profile, identity))
            if cached is not None:
                return cached
        data = self._render_page(profile, keys, token)
        if identity is not None:
            if len(self._pages) >= 1024:
                self._pages.clear()
            self._pages[(profile, identity)] = data
        return data

    def _render_page(self, profile: Profile, keys: list[AccessKey], token: str | None) -> bytes:
        if len(keys) > 100 and self.refuse([Finding("result", "maxItems", "over 100 items")]):
            raise InvalidResponse([Finding("result", "maxItems", "over 100 items")])
        self._check(self.page, {"result": [], "next_page_token": token})
        items = b",".join(self.key(profile, k) for k in keys)
        return b'{"result":[' + items + b'],"next_page_token":' + encode_json(token) + b"}"
