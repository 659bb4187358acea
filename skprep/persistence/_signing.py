"""Bundle signatures in OpenSSF model-signing's format, with an elliptic-curve key (offline).

``skprep.save(..., sign_with=key)`` writes ``<bundle>.sig`` next to the bundle: a
Sigstore bundle (DSSE envelope over an in-toto statement) exactly as
``model_signing sign key`` writes it, so ``model_signing verify key`` verifies it, and a
signature made by ``model_signing`` verifies with ``skprep.load(..., verify_with=key)``.
The signature covers every byte of the bundle file, so rewriting a member *and* its
manifest entry is caught.

``model_signing`` is imported only here, only when signing or verifying.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from .._optional import import_optional
from ..exceptions import BundleSignatureError, InvalidArgumentTypeError

__all__ = ["signature_path", "sign_bundle", "verify_signature", "signature_status", "KeyLike"]

KeyLike = str | bytes | os.PathLike
_PEM_START = b"-----BEGIN"


def signature_path(path: str | os.PathLike) -> str:
    """Where the signature of the bundle ``path`` lives: ``path + ".sig"``."""
    return os.fspath(path) + ".sig"


def _import_model_signing():
    """``model_signing.signing`` and ``.verifying``, or an ImportError naming the extra."""
    found = [import_optional(f"model_signing.{name}", extra="sign", needed_by="Signed bundles",
                             package="OpenSSF model-signing", hint=" (model-signing, pyopenssl)")
             for name in ("signing", "verifying")]
    return found[0], found[1]


@contextlib.contextmanager
def _key_file(key: KeyLike, what: str) -> Iterator[str]:
    """A path to the PEM key: the path given, or a private temporary copy of PEM bytes."""
    if isinstance(key, str) and key.lstrip().startswith("-----BEGIN"):
        key = key.encode()
    if isinstance(key, bytes) and key.lstrip().startswith(_PEM_START):
        with tempfile.TemporaryDirectory(prefix="skprep-key-") as tmp:
            path = os.path.join(tmp, "key.pem")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
                fh.write(key)
            yield path
        return
    if not isinstance(key, (str, bytes, os.PathLike)):
        raise InvalidArgumentTypeError(
            f"{what} must be PEM bytes/str or the path of a PEM file. "
            f"Received: {type(key).__name__}."
        )
    path = os.fsdecode(key)
    if not os.path.isfile(path):
        raise BundleSignatureError(
            f"{what}: the key file {path!r} does not exist (expected a PEM file, or the PEM "
            "text itself)."
        )
    yield path


def _configured(key: KeyLike, what: str, expected: str, configure: Callable[[str], Any]) -> Any:
    """``configure(path of the key)``; an unusable key becomes BundleSignatureError."""
    with _key_file(key, what) as key_path:
        try:
            return configure(key_path)
        except Exception as exc:  # noqa: BLE001 - model_signing fails on other keys variously
            raise BundleSignatureError(
                f"{what} is not a usable key: expected {expected} (P-256, P-384 or P-521); "
                f"{type(exc).__name__}: {exc}"
            ) from exc


def sign_bundle(path: str, private_key: KeyLike, signature: str) -> None:
    """Sign the file ``path`` with an EC private key, writing ``signature``.

    Raises
    ------
    BundleSignatureError
        The key is not a readable, unencrypted PEM elliptic-curve private key.
    """
    signing, _ = _import_model_signing()
    config = _configured(
        private_key, "sign_with", "an unencrypted PEM elliptic-curve private key",
        lambda key_path: signing.Config().use_elliptic_key_signer(private_key=key_path),
    )
    config.sign(path, signature)


def verify_signature(path: str | os.PathLike, public_key: KeyLike,
                     signature: str | os.PathLike | None = None) -> None:
    """Verify the model-signing signature of a bundle file with an EC public key.

    Parameters
    ----------
    path : str or path-like
        The bundle file.
    public_key : bytes, str or path-like
        The PEM public key (its text, or the path of its file).
    signature : str or path-like, default=None
        The signature file; ``path + ".sig"`` by default.

    Raises
    ------
    BundleSignatureError
        The signature is missing, unreadable, made with another key, or the bundle
        changed after it was signed. Nothing of the bundle is read beyond hashing it.
    """
    path = os.fspath(path)
    signature = os.fspath(signature) if signature is not None else signature_path(path)
    if not os.path.isfile(signature):
        raise BundleSignatureError(
            f"{path!r} has no signature: {signature!r} does not exist. Refused "
            "(verify_with was given). Ask for the signed bundle, or sign it with "
            "skprep.save(..., sign_with=private_key)."
        )
    _, verifying = _import_model_signing()
    config = _configured(
        public_key, "verify_with", "a PEM elliptic-curve public key",
        lambda key_path: verifying.Config().use_elliptic_key_verifier(public_key=key_path),
    )
    try:
        config.verify(path, signature)
    except Exception as exc:  # noqa: BLE001 - any failure to verify is a refusal
        raise BundleSignatureError(
            f"The signature {signature!r} does not verify {path!r} with this public key "
            f"({type(exc).__name__}: {exc}). The bundle changed after signing, or the "
            "signature is broken or was made with another key. Refused."
        ) from exc


def signature_status(path: str | os.PathLike, public_key: KeyLike | None = None) -> str:
    """``"unsigned"``, ``"signed (not verified)"``, ``"verified"`` or ``"INVALID: ..."``."""
    path = os.fspath(path)
    if not os.path.isfile(signature_path(path)):
        return "unsigned"
    if public_key is None:
        return "signed (not verified)"
    try:
        verify_signature(path, public_key)
    except BundleSignatureError as exc:
        return f"INVALID: {exc}"
    return "verified"
