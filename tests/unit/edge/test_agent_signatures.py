"""The agent's pure-Python Ed25519 agrees with ``cryptography``, which signs on the server."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from modelyard_edge import ed25519


def test_the_agent_verifies_what_the_server_signs_and_signs_alike() -> None:
    for _ in range(5):
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        message = os.urandom(100)
        assert ed25519.verify(public, message, key.sign(message))
        seed = os.urandom(32)
        assert ed25519.sign(seed, message) == Ed25519PrivateKey.from_private_bytes(seed).sign(
            message
        )
