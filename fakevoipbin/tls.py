"""The fake's own certificate authority and server certificate, for ``--tls``.

``prepare(names, folder)`` gives the ``Material`` a server speaks HTTPS with: a CA
made here (EC P-256, ``cryptography``'s x509 builder) whose X.509 Name Constraints
permit only the fake's names, and a server certificate it signs for those names.
Trusted by mistake, even system-wide, the CA cannot vouch for any other host.

With a folder (``--tls-dir``), ``ca.pem`` and ``ca-key.pem`` are made once and reused,
so a developer trusts the CA once; ``server.pem`` and ``server-key.pem`` are remade
when the names change, the CA changed, or fewer than 30 days of validity are left.
Key files are written 0600 from the start and refused when looser. Without a folder,
each start makes its own CA in a temporary folder that ``Material.close`` removes.

Validity follows the real clock (never the fake's): clients check certificates
against real time. ``cryptography`` is imported only here, and only when TLS is on.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import ssl
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

#: The names every server certificate carries, before each ``--tls-name``.
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1", "api.voipbin.net")
CA_FILE, CA_KEY_FILE = "ca.pem", "ca-key.pem"
SERVER_FILE, SERVER_KEY_FILE = "server.pem", "server-key.pem"
CA_DAYS = 3650
#: Under the 398 days clients accept for a server certificate.
SERVER_DAYS = 365
#: A server certificate with less validity left than this is remade at start.
RENEW_BEFORE = timedelta(days=30)
#: notBefore lies this far in the past, for clients whose clocks run a little behind.
BACKDATE = timedelta(hours=1)
KEY_MODE = 0o600

_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_DNS_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")


class TLSError(Exception):
    """Why the TLS material cannot be made or used, in one line (never a key)."""


def check_name(text: str) -> str:
    """A ``--tls-name``: a DNS name (lower-cased, without a trailing dot) or an IP
    literal (as ``ipaddress`` writes it); ``ValueError`` in one line otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"a TLS name is a string, not {text!r}")
    try:
        return str(ipaddress.ip_address(text.strip("[]") if text.startswith("[") else text))
    except ValueError:
        pass
    name = text.removesuffix(".").lower()
    if not _DNS_NAME.fullmatch(name) or name.replace(".", "").isdigit():
        raise ValueError(
            f"not a TLS name: {text!r}; give a DNS name (e.g. fake.internal) or an IP "
            "address (e.g. 10.0.0.5)"
        )
    return name


def all_names(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The certificate's names: the defaults, then each extra one not already there."""
    names = list(DEFAULT_NAMES)
    for name in extra:
        if check_name(name) not in names:
            names.append(check_name(name))
    return tuple(names)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass
class Material:
    """The files a server (and its clients) use: the CA alone (``ca_file``), and the
    server's certificate and key. ``close`` removes a temporary folder."""

    folder: Path
    ca_file: Path
    cert_file: Path
    key_file: Path
    temporary: bool

    def server_context(self) -> ssl.SSLContext:
        """An SSLContext that serves the server certificate (for a listener of one's own)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """An SSLContext that trusts this CA alone."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def close(self) -> None:
        if self.temporary:
            shutil.rmtree(self.folder, ignore_errors=True)


def prepare(names: tuple[str, ...] = (), folder: str | Path | None = None) -> Material:
    """The CA and server certificate for ``DEFAULT_NAMES`` plus ``names``: kept in
    ``folder`` (made when missing, reused when present), or in a new temporary folder.
    ``TLSError`` in one line naming the file when something there cannot be used."""
    wanted = all_names(tuple(names))
    if folder is None:
        where = Path(tempfile.mkdtemp(prefix="fakevoipbin-tls-"))
        temporary = True
    else:
        where = Path(folder)
        temporary = False
        try:
            where.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TLSError(f"cannot make the TLS folder {where}: {exc.strerror}") from None
    try:
        ca_cert, ca_key = _ca(where, wanted)
        _server(where, wanted, ca_cert, ca_key)
    except BaseException:
        if temporary:
            shutil.rmtree(where, ignore_errors=True)
        raise
    return Material(where, where / CA_FILE, where / SERVER_FILE, where / SERVER_KEY_FILE, temporary)


# --- the CA ---------------------------------------------------------------------------


def _ca(folder: Path, names: tuple[str, ...]) -> tuple[Any, Any]:
    cert_path, key_path = folder / CA_FILE, folder / CA_KEY_FILE
    if not cert_path.exists() and not key_path.exists():
        cert, key = make_ca(names)
        _write_key(key_path, key)
        _write(cert_path, _cert_pem(cert), 0o644)
        return cert, key
    cert = _read_cert(cert_path, "the CA")
    key = _read_key(key_path, "the CA's key")
    if not _same_key(cert, key):
        raise TLSError(f"the CA key {key_path} does not belong to the CA {cert_path}")
    missing = [n for n in names if n not in permitted_names(cert)]
    if missing:
        raise TLSError(
            f"the CA {cert_path} may not vouch for {', '.join(missing)} (its name constraints "
            f"were set when it was made): remove {cert_path} and {key_path} to make a new CA "
            "with these names, and trust that one instead"
        )
    return cert, key


def make_ca(names: tuple[str, ...]) -> tuple[Any, Any]:
    """A new CA certificate and key: path length 0, signing certificates only, and Name
    Constraints (critical) that permit ``names`` alone (IP addresses as /32 and /128)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fakevoipbin"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"fakevoipbin local CA {os.urandom(4).hex()}"),
        ]
    )
    permitted: list[x509.GeneralName] = []
    for name in names:
        if _is_ip(name):
            permitted.append(x509.IPAddress(ipaddress.ip_network(name)))
        else:
            permitted.append(x509.DNSName(name))
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def permitted_names(ca_cert: Any) -> set[str]:
    """The names a CA's Name Constraints permit, written as ``check_name`` writes them."""
    from cryptography import x509

    try:
        constraints = ca_cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return set()
    found = set()
    for general in constraints.permitted_subtrees or ():
        if isinstance(general, x509.IPAddress):
            network = general.value
            assert isinstance(network, (ipaddress.IPv4Network, ipaddress.IPv6Network))
            found.add(str(network.network_address))
        else:
            found.add(str(general.value))
    return found


# --- the server certificate -----------------------------------------------------------


def _server(folder: Path, names: tuple[str, ...], ca_cert: Any, ca_key: Any) -> None:
    cert_path, key_path = folder / SERVER_FILE, folder / SERVER_KEY_FILE
    if cert_path.exists() and key_path.exists():
        cert = _read_cert(cert_path, "the server certificate")
        key = _read_key(key_path, "the server key")
        if not _needs_remaking(cert, key, names, ca_cert):
            return
    elif key_path.exists():
        _check_mode(key_path)
    cert, key = make_server(names, ca_cert, ca_key)
    _write_key(key_path, key)
    _write(cert_path, _cert_pem(cert), 0o644)


def _needs_remaking(cert: Any, key: Any, names: tuple[str, ...], ca_cert: Any) -> bool:
    from cryptography.exceptions import InvalidSignature

    if not _same_key(cert, key) or set(server_names(cert)) != set(names):
        return True
    if cert.not_valid_after_utc - datetime.now(timezone.utc) < RENEW_BEFORE:
        return True
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return True
    return False


def make_server(names: tuple[str, ...], ca_cert: Any, ca_key: Any) -> tuple[Any, Any]:
    """A server certificate and key for ``names`` (its SAN), signed by the CA: serverAuth,
    not a CA, valid ``SERVER_DAYS`` from now (real time)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(n)) if _is_ip(n) else x509.DNSName(n) for n in names
    ]
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fakevoipbin server")])
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def server_names(cert: Any) -> list[str]:
    """The names a certificate's SAN holds, written as ``check_name`` writes them."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(general.value) for general in san]


# --- files ----------------------------------------------------------------------------


def _cert_pem(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(cert.public_bytes(serialization.Encoding.PEM))


def _same_key(cert: Any, key: Any) -> bool:
    return bool(cert.public_key() == key.public_key())


def _write(path: Path, data: bytes, mode: int) -> None:
    """``data`` to ``path`` atomically, the file created with ``mode`` from the start
    (a key is never readable by others, not even for an instant)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.fchmod(fd, mode)  # whatever the umask
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise TLSError(f"cannot write {path}: {exc.strerror}") from None


def _write_key(path: Path, key: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(path, pem, KEY_MODE)


def _read_cert(path: Path, what: str) -> Any:
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as exc:
        raise TLSError(f"cannot read {what} {path}: {exc.strerror}") from None
    except ValueError:
        raise TLSError(f"cannot read {what} {path}: not a PEM certificate") from None


def _check_mode(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise TLSError(f"cannot read the key {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise TLSError(
            f"refusing the key {path}: its mode is {mode:04o}, readable by others; "
            f"a key file must be 0600 (chmod 600 {path})"
        )


def _read_key(path: Path, what: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    _check_mode(path)
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise TLSError(f"cannot read {what} {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise TLSError(f"cannot read {what} {path}: not an unencrypted PEM private key") from None


# --- what a client trusts -------------------------------------------------------------

#: Debian's and Ubuntu's bundle of the system's roots: the last place ``system_roots`` looks.
DEBIAN_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def system_roots() -> Path | None:
    """The file of the system's root certificates, the first that exists of: the
    ``cafile`` of ``ssl.get_default_verify_paths()`` (which honours an
    ``SSL_CERT_FILE`` already set), certifi's bundle when certifi is installed, and
    ``DEBIAN_BUNDLE``. None when there is none."""
    cafile = ssl.get_default_verify_paths().cafile
    if cafile and Path(cafile).is_file():
        return Path(cafile)
    try:
        import certifi
    except ImportError:
        pass
    else:
        return Path(certifi.where())
    return DEBIAN_BUNDLE if DEBIAN_BUNDLE.is_file() else None


def write_bundle(ca_file: Path, path: Path) -> Path:
    """A bundle at ``path``: the system's roots (``system_roots``) then the fake's CA,
    so a client that trusts it still verifies every other HTTPS server."""
    roots = system_roots()
    parts = [roots.read_bytes()] if roots is not None else []
    parts.append(Path(ca_file).read_bytes())
    _write(path, b"\n".join(p.rstrip(b"\n") for p in parts) + b"\n", 0o644)
    return path
