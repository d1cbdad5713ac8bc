"""The pure-Python Ed25519 against RFC 8032's vectors.

The cross-check against ``cryptography`` lives in modelyard's own suite
(``tests/unit/edge/test_agent_signatures.py``), where that package is a dependency: the
agent's environment has only numpy and onnxruntime.
"""

from __future__ import annotations

import pytest

from modelyard_edge import ed25519

VECTORS = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), VECTORS)
def test_rfc8032_vectors(secret: str, public: str, message: str, signature: str) -> None:
    assert ed25519.public_key(bytes.fromhex(secret)).hex() == public
    assert ed25519.sign(bytes.fromhex(secret), bytes.fromhex(message)).hex() == signature
    assert ed25519.verify(bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature))


def test_altered_message_or_signature_does_not_verify() -> None:
    secret, public, _, _ = VECTORS[1]
    signature = ed25519.sign(bytes.fromhex(secret), b"manifest")
    assert ed25519.verify(bytes.fromhex(public), b"manifest", signature)
    assert not ed25519.verify(bytes.fromhex(public), b"manifesT", signature)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not ed25519.verify(bytes.fromhex(public), b"manifest", flipped)
    assert not ed25519.verify(bytes.fromhex(public), b"manifest", signature[:63])
    assert not ed25519.verify(b"\xff" * 32, b"manifest", signature)
