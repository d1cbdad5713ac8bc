"""Ed25519 signing keys for edge packages (the ``ResourceKey`` of a packaging job).

Keys live in ``<home>/edge/keys/<name>.key`` (the 32-byte private seed, hex, mode
0600). A device trusts a key by its public key (hex), given to the agent; the key
id is the first 16 hex digits of the public key's sha256. Signing uses the
``cryptography`` package; the agent verifies with a pure-Python RFC 8032
implementation (numpy and onnxruntime are its only dependencies).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from modelyard.errors import AlreadyExistsError, NotFoundError, ValidationError

KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


class SigningKeys:
    """The signing keys of one modelyard home."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = keys_dir

    def _path(self, name: str) -> Path:
        if not KEY_NAME.fullmatch(name):
            raise ValidationError(
                f"{name!r} is not a key name: 1-63 letters, digits, '_', '.' or '-'",
                field="KeyName",
            )
        return self.keys_dir / f"{name}.key"

    def create(self, name: str) -> str:
        """A new key called ``name``; returns its public key (hex)."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        path = self._path(name)
        if path.exists():
            raise AlreadyExistsError(f"signing key {name!r} already exists", field="KeyName")
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        seed = Ed25519PrivateKey.generate().private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(seed.hex())
        return self.public_key(name)

    def _private(self, name: str):  # type: ignore[no-untyped-def]
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        path = self._path(name)
        try:
            seed = bytes.fromhex(path.read_text(encoding="ascii").strip())
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"signing key {name!r} does not exist: create it with "
                f"'modelyard edge keys create {name}'",
                field="ResourceKey",
            ) from exc
        return Ed25519PrivateKey.from_private_bytes(seed)

    def public_key(self, name: str) -> str:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = self._private(name).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return bytes(raw).hex()

    def list(self) -> list[dict[str, str]]:
        if not self.keys_dir.is_dir():
            return []
        found = []
        for path in sorted(self.keys_dir.glob("*.key")):
            public = self.public_key(path.stem)
            found.append(
                {"KeyName": path.stem, "PublicKey": public, "KeyId": key_id(bytes.fromhex(public))}
            )
        return found

    def sign(self, name: str, data: bytes) -> dict[str, str]:
        """The ``manifest.sig`` document of ``data`` signed with key ``name``."""
        signature = self._private(name).sign(data)
        public = self.public_key(name)
        return {
            "Algorithm": "Ed25519",
            "KeyId": key_id(bytes.fromhex(public)),
            "PublicKey": public,
            "Signature": bytes(signature).hex(),
        }
