"""The environment a client's command gets to reach a fake: ``tls_env`` (trust the
fake's CA, under ``--tls``) and ``intercept_env`` (the fake as the HTTPS proxy for
``https://api.voipbin.net``, under ``--intercept``). ``fakevoipbin run`` exports them
to its command; the Python face's ``FakeVoipbin.client_env()`` gives them as a dict."""

from __future__ import annotations

from pathlib import Path

from .envnames import (
    API_BASE_URL_ENV,
    CA_BUNDLE_ENVS,
    CA_FILE_ENV,
    INTERCEPT_URL,
    NODE_EXTRA_CA_ENV,
    PROXY_ENVS,
    URL_ENV,
)


def tls_env(ca_file: str | Path, folder: Path) -> dict[str, str]:
    """What CMD's clients need to trust a fake that speaks HTTPS (``--tls``): the CA
    alone in ``FAKEVOIPBIN_CA_FILE`` and ``NODE_EXTRA_CA_CERTS``, and a bundle written in
    ``folder`` (the system's roots plus the CA: ``tls.write_bundle``) in each of
    ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE``."""
    from .tls import write_bundle

    bundle = str(write_bundle(Path(ca_file), folder / "ca-bundle.pem"))
    return {
        CA_FILE_ENV: str(ca_file),
        NODE_EXTRA_CA_ENV: str(ca_file),
        **{name: bundle for name in CA_BUNDLE_ENVS},
    }


def intercept_env(proxy_root: str, ca_file: str | Path, folder: Path) -> dict[str, str]:
    """``tls_env`` plus what sends a client's ``https://api.voipbin.net`` to the fake
    (``--intercept``): ``HTTPS_PROXY`` and ``https_proxy`` naming the fake's plain port
    (``proxy_root``, e.g. ``http://127.0.0.1:PORT``), and ``FAKEVOIPBIN_URL`` and
    ``VOIPBIN_API_BASE_URL`` naming ``https://api.voipbin.net/v1.0``. The pytest
    plugin's attach mode reaches the fake's control API the same way: its httpx client
    honours ``HTTPS_PROXY`` and trusts ``FAKEVOIPBIN_CA_FILE``."""
    return {
        **tls_env(ca_file, folder),
        **{name: proxy_root for name in PROXY_ENVS},
        URL_ENV: INTERCEPT_URL,
        API_BASE_URL_ENV: INTERCEPT_URL,
    }
