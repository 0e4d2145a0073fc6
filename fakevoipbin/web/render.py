"""Access keys and list pages as response bytes, checked against openapi.yaml once per
state of the thing rendered, then reused.

The caches live here, in the layer that renders, and are keyed by what the core read
under the state's lock together with the write it reflects:

- a key's rendering by (profile, key id) and the record's ``version``: a key record
  is immutable, and every change stores a new record with a new version, so a
  rendering made from a record always matches the version it is filed under;
- a list page by (profile, customer id, the customer's version, cursor, size), all
  read in one go by ``rules.list_keys``: any change to the customer's keys gives it a
  new version.

A cached rendering was checked against openapi.yaml when it was made, and a list page
is those checked items inside a checked envelope, so validation stays on while a
repeated answer costs a lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import views
from ..core.formats import TOKEN_RE, token_prefix
from ..core.profiles import Profile
from ..core.rules import Page, PageName
from ..core.store import AccessKey
from ..spec import Finding, Spec, findings
from .encoding import encode_json

#: Renderings kept per profile before that cache starts again (about 0.5 KB each): a
#: test suite's working set, without the memory of every key ever created.
KEY_CACHE_SIZE = 16_384
#: List pages kept before that cache starts again.
PAGE_CACHE_SIZE = 1024


#: The spec's token pattern (AccesskeyCreated.token), as a whole-string match.
_is_token = TOKEN_RE.fullmatch


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
        self.page_envelope = spec.schema_validator("AccesskeyList")
        self.created_check = spec.schema_validator("AccesskeyCreated")
        self.refuse = refuse
        #: profile name → key id → (version, bytes)
        self._keys: dict[str, dict[str, tuple[int, bytes]]] = {}
        #: (profile name, customer id, customer version, cursor, size) → bytes
        self._pages: dict[tuple[str, str, int | None, int | None, int], bytes] = {}

    def _check(self, validator: Any, obj: Any) -> None:
        if validator.is_valid(obj):  # compiled: a yes costs microseconds
            return
        found = findings(validator, obj)
        if found and self.refuse(found):
            raise InvalidResponse(found)

    def render_key(self, profile: Profile, key: AccessKey) -> bytes:
        """A key as GET shows it, built, checked and encoded (no cache)."""
        obj = views.key_view(profile, key)
        self._check(self.item, obj)
        return encode_json(obj)

    def key(self, profile: Profile, key: AccessKey) -> bytes:
        """The key as GET shows it (never with its token), from the cache when this
        version of it was rendered before."""
        cache = self._keys.get(profile.name)
        if cache is None:
            cache = self._keys.setdefault(profile.name, {})
        hit = cache.get(key.id)
        if hit is not None and hit[0] == key.version:
            return hit[1]
        data = self.render_key(profile, key)
        if len(cache) >= KEY_CACHE_SIZE:
            cache.clear()
        # The newest version wins: a reader that was slower with an older record never
        # files its rendering over a newer one.
        latest = cache.get(key.id)
        if latest is None or latest[0] < key.version:
            cache[key.id] = (key.version, data)
        return data

    def created(self, profile: Profile, key: AccessKey, token: str) -> bytes:
        """The create response: the key's checked rendering with its raw token spliced
        in before ``token_prefix`` (the spec's AccesskeyCreated is Accesskey plus a
        ``token`` of the documented pattern)."""
        data = self.key(profile, key)
        at = data.find(b',"token_prefix":')
        if at < 0 or not _is_token(token) or token_prefix(token) != key.token_prefix:
            obj = views.key_view(profile, key, raw_token=token)
            self._check(self.created_check, obj)
            return encode_json(obj)
        # The token is of the spec's pattern: nothing in it needs escaping.
        return b"".join((data[:at], b',"token":"', token.encode("ascii"), b'"', data[at:]))

    def cached_page(self, profile: Profile, name: PageName) -> bytes | None:
        """The page of this name, if it was rendered while the name was current."""
        if name.version is None:
            return None
        return self._pages.get((profile.name, *name))

    def page(self, profile: Profile, page: Page) -> bytes:
        """A list page: the keys' checked renderings inside a checked envelope, from
        the cache when the customer has not changed since it was rendered."""
        name = page.name
        if name.version is None:
            return self._render_page(profile, page)
        filed = (profile.name, *name)
        cached = self._pages.get(filed)
        if cached is not None:
            return cached
        data = self._render_page(profile, page)
        if len(self._pages) >= PAGE_CACHE_SIZE:
            self._pages.clear()
        self._pages[filed] = data
        return data

    def _render_page(self, profile: Profile, page: Page) -> bytes:
        keys, token = page.keys, page.next_page_token
        if len(keys) > 100 and self.refuse([Finding("result", "maxItems", "over 100 items")]):
            raise InvalidResponse([Finding("result", "maxItems", "over 100 items")])
        self._check(self.page_envelope, {"result": [], "next_page_token": token})
        items = b",".join([self.key(profile, k) for k in keys])
        return b'{"result":[' + items + b'],"next_page_token":' + encode_json(token) + b"}"
