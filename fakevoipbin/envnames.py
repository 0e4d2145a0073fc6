"""The environment variables the faces share: ``fakevoipbin run`` exports them to the
client's command, and the pytest plugin's attach mode reads them.

The settings' own variables (``FAKEVOIPBIN_PORT``, ``FAKEVOIPBIN_PROFILE``, …) are not
listed here: ``options.env_name`` derives each from its field. ``CONTROL_TOKEN_ENV`` is
both: the ``control_token`` setting's variable, and what run exports and attach reads."""

#: The fake's API URL (…/v1.0); in a pytest run, it turns attach mode on.
URL_ENV = "FAKEVOIPBIN_URL"
#: The same URL, under the name VoIPbin's own clients read.
API_BASE_URL_ENV = "VOIPBIN_API_BASE_URL"
#: The raw token of the fixtures' default admin key (public test data).
ACCESSKEY_ENV = "FAKEVOIPBIN_ACCESSKEY"
#: The same key, under the name VoIPbin's own clients read.
API_KEY_ENV = "VOIPBIN_API_KEY"
#: The fake's control token, when it has one.
CONTROL_TOKEN_ENV = "FAKEVOIPBIN_CONTROL_TOKEN"
#: Under --tls: the fake's CA alone (PEM), which the pytest plugin's attach mode trusts.
CA_FILE_ENV = "FAKEVOIPBIN_CA_FILE"
#: Under --tls: each names one bundle, the system's roots plus the fake's CA, for the
#: clients that read it: OpenSSL, Go and httpx; requests; curl.
CA_BUNDLE_ENVS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
#: Under --tls: the fake's CA alone, which Node adds to its own roots.
NODE_EXTRA_CA_ENV = "NODE_EXTRA_CA_CERTS"
#: Under --intercept: the fake's port as the HTTPS proxy, in both spellings clients read.
PROXY_ENVS = ("HTTPS_PROXY", "https_proxy")
#: Under --intercept: the API URL a client asks for (the fake answers it through the proxy).
INTERCEPT_URL = "https://api.voipbin.net/v1.0"
#: Set by the test suite: each validation also runs through jsonschema (``spec.py``).
CROSSCHECK_ENV = "FAKEVOIPBIN_CROSSCHECK"

#: The ``FAKEVOIPBIN_…`` variables the package sets or reads for a purpose other than a
#: setting of ``options.Options`` (whose variables ``options.env_name`` derives): a
#: command-line face never warns about them as misspelt settings.
OTHER_USES = frozenset({URL_ENV, ACCESSKEY_ENV, CONTROL_TOKEN_ENV, CA_FILE_ENV, CROSSCHECK_ENV})
