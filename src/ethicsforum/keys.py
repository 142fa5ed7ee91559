"""Keys derived from ETHICSFORUM_SECRET_KEY, one HMAC-SHA256 per purpose.

The secret never leaves this module and is never stored in the database, so a copy of the
database alone can neither link pseudonyms to accounts nor forge a form's CSRF token.
create_app() sets it, once per process (one installation per process, as with templates).

Rotating the key (changing ETHICSFORUM_SECRET_KEY) changes every pseudonym and expires the
forms open in browsers (a reload fixes them); sign-ins and API tokens are random ids stored
hashed, so they survive it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_secret: bytes | None = None


class NoSecretKey(RuntimeError):
    """A derived key was asked for before create_app() set the secret."""


def use_secret(secret: str) -> None:
    global _secret
    _secret = secret.encode()


def derive(purpose: str, material: str | bytes) -> bytes:
    """HMAC(secret, purpose NUL material): a key or token for one purpose and one input."""
    if _secret is None:
        raise NoSecretKey("no secret key is set; create_app() sets it from the settings")
    data = material.encode() if isinstance(material, str) else material
    return hmac.new(_secret, purpose.encode() + b"\0" + data, hashlib.sha256).digest()


def token(purpose: str, material: str | bytes) -> str:
    """`derive` as URL-safe text, for tokens put in forms."""
    return base64.urlsafe_b64encode(derive(purpose, material)).rstrip(b"=").decode()
