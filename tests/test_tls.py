"""tls.py: the fake's own CA (name-constrained) and server certificate, kept or temporary."""

from __future__ import annotations

import ipaddress
import os
import shutil
import ssl
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from fakevoipbin import tls
from fakevoipbin.tls import DEFAULT_NAMES, TLSError, check_name, prepare


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, hostname: str) -> None:
    """A TLS handshake between the two contexts in memory (no socket); raises what the
    client's verification raises."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        done = 0
        for side, out, peer_in in ((c, c_out, s_in), (s, s_out, c_in)):
            try:
                side.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
            data = out.read()
            if data:
                peer_in.write(data)
        if done == 2:
            return
    raise AssertionError("the handshake did not finish")


def test_the_ca_permits_only_the_fakes_names_and_signs_only_certificates(tmp_path: Path) -> None:
    material = prepare(("fake.internal", "10.0.0.5"), tmp_path)
    ca = _cert(material.ca_file)
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical and constraints.value.excluded_subtrees is None
    assert set(constraints.value.permitted_subtrees or ()) == {
        x509.DNSName("localhost"),
        x509.DNSName("api.voipbin.net"),
        x509.DNSName("fake.internal"),
        x509.IPAddress(ipaddress.ip_network("127.0.0.1/32")),
        x509.IPAddress(ipaddress.ip_network("::1/128")),
        x509.IPAddress(ipaddress.ip_network("10.0.0.5/32")),
    }
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > timedelta(days=3650)

    server = _cert(material.cert_file)
    assert server.issuer == ca.subject
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert tls.server_names(server) == [*DEFAULT_NAMES, "fake.internal", "10.0.0.5"]
    span = server.not_valid_after_utc - server.not_valid_before_utc
    assert timedelta(days=300) < span < timedelta(days=398)
    server.verify_directly_issued_by(ca)


def test_a_client_that_trusts_the_ca_accepts_each_of_the_fakes_names(tmp_path: Path) -> None:
    material = prepare((), tmp_path)
    for name in DEFAULT_NAMES:
        _handshake(material.server_context(), material.client_context(), name)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(material.server_context(), ssl.create_default_context(), "localhost")


def test_a_certificate_for_another_host_signed_by_the_same_ca_key_fails_verification(
    tmp_path: Path,
) -> None:
    """The Name Constraints, enforced by OpenSSL: the CA's own key signs a certificate
    for example.com, and a client that trusts the CA still refuses it."""
    material = prepare((), tmp_path)
    ca = _cert(material.ca_file)
    from cryptography.hazmat.primitives import serialization

    ca_key = serialization.load_pem_private_key(
        (tmp_path / "ca-key.pem").read_bytes(), password=None
    )
    cert, key = tls.make_server(("example.com",), ca, ca_key)
    rogue = tmp_path / "rogue"
    rogue.mkdir()
    tls._write(rogue / "cert.pem", tls._cert_pem(cert), 0o644)
    tls._write_key(rogue / "key.pem", key)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(rogue / "cert.pem", rogue / "key.pem")
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        _handshake(server, material.client_context(), "example.com")
    assert "subtree" in str(info.value), info.value  # refused for the constraint itself


def test_a_kept_folder_is_reused_and_the_server_certificate_follows_the_names(
    tmp_path: Path,
) -> None:
    first = prepare(("db",), tmp_path)
    ca, server = first.ca_file.read_bytes(), first.cert_file.read_bytes()
    again = prepare(("db",), tmp_path)
    assert again.ca_file.read_bytes() == ca and again.cert_file.read_bytes() == server
    fewer = prepare((), tmp_path)
    assert fewer.ca_file.read_bytes() == ca
    assert fewer.cert_file.read_bytes() != server
    assert tls.server_names(_cert(fewer.cert_file)) == list(DEFAULT_NAMES)
    first.close()  # a kept folder stays
    assert fewer.ca_file.exists()


def test_a_name_the_kept_ca_does_not_permit_is_refused_in_one_line(tmp_path: Path) -> None:
    prepare((), tmp_path)
    with pytest.raises(TLSError) as info:
        prepare(("db",), tmp_path)
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "ca.pem") in message and "db" in message


def test_a_server_certificate_near_its_end_or_from_another_ca_is_remade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tls, "SERVER_DAYS", 20)  # inside the 30 days' renewal window
    short = prepare((), tmp_path).cert_file.read_bytes()
    monkeypatch.setattr(tls, "SERVER_DAYS", 365)
    renewed = prepare((), tmp_path).cert_file.read_bytes()
    assert renewed != short
    assert prepare((), tmp_path).cert_file.read_bytes() == renewed

    other = prepare((), tmp_path / "other")
    for name in ("ca.pem", "ca-key.pem"):
        shutil.copy2(other.folder / name, tmp_path / name)
    remade = prepare((), tmp_path)
    assert remade.cert_file.read_bytes() != renewed
    _cert(remade.cert_file).verify_directly_issued_by(_cert(other.ca_file))


def test_key_files_are_0600_and_a_looser_one_is_refused_naming_it(tmp_path: Path) -> None:
    material = prepare((), tmp_path)
    for name in ("ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    key = tmp_path / "ca-key.pem"
    body = key.read_text()
    key.chmod(0o644)
    with pytest.raises(TLSError) as info:
        prepare((), tmp_path)
    message = str(info.value)
    assert "\n" not in message and str(key) in message and "0644" in message
    assert "PRIVATE KEY" not in message and body.splitlines()[1] not in message
    key.chmod(0o600)
    (tmp_path / "server-key.pem").chmod(0o640)
    with pytest.raises(TLSError, match="server-key.pem"):
        prepare((), tmp_path)
    assert material.ca_file.exists()


def test_keys_are_written_0600_from_the_start_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        prepare((), tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "ca-key.pem").stat().st_mode) == 0o600
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_ca_that_cannot_be_read_is_refused_naming_the_file_not_its_content(
    tmp_path: Path,
) -> None:
    prepare((), tmp_path)
    (tmp_path / "ca.pem").write_text("secret-looking garbage\n")
    with pytest.raises(TLSError) as info:
        prepare((), tmp_path)
    message = str(info.value)
    assert str(tmp_path / "ca.pem") in message and "garbage" not in message
    (tmp_path / "ca.pem").unlink()
    with pytest.raises(TLSError, match="ca.pem"):
        prepare((), tmp_path)


def test_without_a_folder_each_start_has_its_own_ca_removed_on_close() -> None:
    one, two = prepare(), prepare()
    try:
        assert one.folder != two.folder
        assert one.ca_file.read_bytes() != two.ca_file.read_bytes()
    finally:
        one.close()
        two.close()
    assert not one.folder.exists() and not two.folder.exists()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("fake.internal", "fake.internal"),
        ("DB.", "db"),
        ("my_service", "my_service"),
        ("10.0.0.5", "10.0.0.5"),
        ("[::1]", "::1"),
        ("fe80::1", "fe80::1"),
    ],
)
def test_a_tls_name_is_a_dns_name_or_an_ip_address(given: str, kept: str) -> None:
    assert check_name(given) == kept


@pytest.mark.parametrize(
    "given", ["", "*.example.com", "a b", "http://x", "1.2.3", "-x.com", "é.com", "a..b"]
)
def test_anything_else_is_refused_in_one_line(given: str) -> None:
    with pytest.raises(ValueError) as info:
        check_name(given)
    assert "\n" not in str(info.value) and "not a TLS name" in str(info.value)


def test_the_bundle_holds_the_system_roots_then_the_fakes_ca(tmp_path: Path) -> None:
    material = prepare((), tmp_path)
    bundle = tls.write_bundle(material.ca_file, tmp_path / "bundle.pem").read_text()
    assert bundle.count("BEGIN CERTIFICATE") > 1
    assert bundle.rstrip().endswith(material.ca_file.read_text().rstrip())
    roots = tls.system_roots()
    assert roots is not None and roots.read_text().strip() in bundle
