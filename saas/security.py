"""Secrets at rest (exchange keys, TOTP and Telegram secrets) and password hashing.

Encryption. ``ENCRYPTION_KEY`` holds one or more Fernet keys separated by commas: the first
encrypts, every one decrypts (``MultiFernet``), so a new key can be put in front, ``flask --app
saas rotate-keys`` run, and the old key dropped afterwards.

Binding. A value is never encrypted under a master key directly. For each value we derive a
Fernet key with HKDF-SHA256 from the master key and the value's *context*, the row it belongs
to ("bot:42", "user:7:totp"). Fernet authenticates every token, so a token copied into another
row (say bot 43's) is checked against the key of "bot:43" and fails to decrypt instead of
handing bot 43 the keys of bot 42. Changing the derivation label would orphan every stored
value, which is why it carries a version.

Nothing here puts a key, a secret or a token into a message, a repr or a log line.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DERIVATION_LABEL = b"dcabot key binding v1|"
# The password hash we write; anything else (e.g. the quick-start's pbkdf2) is upgraded at login.
PASSWORD_METHOD = "scrypt:32768:8:1"  # noqa: S105 - a hash method name, not a password
GENERATE_HINT = (
    "generate one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'"
)


class EncryptionKeyError(ValueError):
    """ENCRYPTION_KEY is missing or malformed; the message is one line for the operator."""


class DecryptionError(ValueError):
    """A stored value does not decrypt under ENCRYPTION_KEY for the row it sits in."""


def generate_key() -> str:
    """A new random master key for ENCRYPTION_KEY."""
    return Fernet.generate_key().decode()


def bot_context(bot_id: int) -> str:
    """The context of a bot's API key and secret."""
    return f"bot:{int(bot_id)}"


def user_context(user_id: int, purpose: str) -> str:
    """The context of a user's secret, e.g. purpose "totp" or "telegram"."""
    return f"user:{int(user_id)}:{purpose}"


def _parse_master_keys(value: str | None) -> tuple[bytes, ...]:
    """The raw 32-byte master keys of an ENCRYPTION_KEY value."""
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    if not items:
        raise EncryptionKeyError(f"ENCRYPTION_KEY is not set; {GENERATE_HINT}")
    keys = []
    for position, item in enumerate(items, start=1):
        try:
            raw = base64.urlsafe_b64decode(item.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != 32:
            raise EncryptionKeyError(
                f"ENCRYPTION_KEY key {position} of {len(items)} is not a Fernet key "
                f"(32 url-safe base64 bytes); {GENERATE_HINT}"
            )
        keys.append(raw)
    return tuple(keys)


@lru_cache(maxsize=4096)
def _derived_fernet(master: bytes, context: str) -> Fernet:
    """The Fernet of one master key for one context."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=DERIVATION_LABEL + context.encode()
    )
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(master)))


class KeyRing:
    """The master keys of ENCRYPTION_KEY; encrypts and decrypts values bound to a context."""

    def __init__(self, master_keys: tuple[bytes, ...]):
        if not master_keys:
            raise EncryptionKeyError(f"ENCRYPTION_KEY is not set; {GENERATE_HINT}")
        self._masters = tuple(master_keys)

    @classmethod
    def from_string(cls, value: str | None) -> KeyRing:
        """A key ring from an ENCRYPTION_KEY value (comma-separated Fernet keys)."""
        return cls(_parse_master_keys(value))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KeyRing:
        """A key ring from ``env["ENCRYPTION_KEY"]``."""
        return cls.from_string(env.get("ENCRYPTION_KEY"))

    def __repr__(self) -> str:
        return f"<KeyRing {len(self._masters)} key(s)>"

    def _fernet(self, context: str) -> MultiFernet:
        """First master key first: it encrypts; all of them decrypt."""
        return MultiFernet([_derived_fernet(master, context) for master in self._masters])

    def encrypt(self, context: str, plaintext: str) -> str:
        """A token of ``plaintext`` that only decrypts for ``context``."""
        return self._fernet(context).encrypt(plaintext.encode()).decode("ascii")

    def decrypt(
        self, context: str, token: str, what: str = "a stored secret", ttl: int | None = None
    ) -> str:
        """The plaintext of a token of this context (no older than ``ttl`` seconds when given);
        DecryptionError naming ``what`` otherwise."""
        try:
            return self._fernet(context).decrypt(token.encode("ascii"), ttl=ttl).decode()
        except (InvalidToken, UnicodeError, AttributeError):
            raise DecryptionError(
                f"cannot decrypt {what}: ENCRYPTION_KEY does not hold the key it was encrypted "
                "with, or the value was copied from another row"
            ) from None

    def decrypt_unbound(self, token: str) -> str | None:
        """The plaintext of a plain Fernet token of a master key (as the quick start's
        ``Fernet(ENCRYPTION_KEY).encrypt(...)`` makes), or None when it is not one."""
        fernet = MultiFernet([Fernet(base64.urlsafe_b64encode(m)) for m in self._masters])
        try:
            return fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, AttributeError):
            return None

    def rotate(self, context: str, token: str, what: str = "a stored secret") -> str:
        """The same plaintext re-encrypted under the first key (DecryptionError when unreadable)."""
        try:
            return self._fernet(context).rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError, AttributeError):
            raise DecryptionError(
                f"cannot re-encrypt {what}: no key of ENCRYPTION_KEY decrypts it"
            ) from None


def set_bot_keys(bot, ring: KeyRing, api_key: str, api_secret: str) -> None:
    """Store a bot's exchange key and secret encrypted; the bot must have its id (flush first)."""
    if bot.id is None:
        raise ValueError("the bot needs an id before its keys are encrypted (flush it first)")
    context = bot_context(bot.id)
    bot.api_key_encrypted = ring.encrypt(context, api_key)
    bot.api_secret_encrypted = ring.encrypt(context, api_secret)


def bot_credentials(bot, ring: KeyRing, *, rebind: bool = False) -> tuple[str, str]:
    """A bot's decrypted API key and secret; ("", "") for a paper bot without keys.

    With ``rebind``, keys inserted by hand as plain Fernet tokens of a master key (the quick
    start's way) are accepted this once and re-encrypted bound to the bot's row; the caller
    commits. Without it they are refused like any value that does not belong to the row.
    """
    if not bot.api_key_encrypted and not bot.api_secret_encrypted and bot.exchange == "paper":
        return "", ""
    context = bot_context(bot.id)
    what = f"the API keys of bot {bot.id}"
    stored = (bot.api_key_encrypted or "", bot.api_secret_encrypted or "")
    try:
        return ring.decrypt(context, stored[0], what), ring.decrypt(context, stored[1], what)
    except DecryptionError:
        if not rebind:
            raise
        plain = [ring.decrypt_unbound(token) for token in stored]
        if None in plain:
            raise
    key, secret = plain
    set_bot_keys(bot, ring, key, secret)
    return key, secret


def main() -> None:
    """``python saas/security.py``: print a new ENCRYPTION_KEY line for the environment file."""
    print(f"ENCRYPTION_KEY={generate_key()}")


def hash_password(password: str) -> str:
    """A salted scrypt hash of a password."""
    # werkzeug is imported where passwords are handled: bot processes never need it.
    from werkzeug.security import generate_password_hash  # noqa: PLC0415

    return generate_password_hash(password, method=PASSWORD_METHOD)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash uses an older method or older parameters than we write now."""
    return password_hash.split("$", 1)[0] != PASSWORD_METHOD


def verify_and_upgrade(user, password: str) -> bool:
    """Check a user's password; on success re-hash an old-style hash (the caller commits)."""
    from werkzeug.security import check_password_hash  # noqa: PLC0415

    if not user.password_hash or not password:
        return False
    try:
        ok = check_password_hash(user.password_hash, password)
    except (ValueError, TypeError):
        return False  # a malformed or unknown hash method never logs anyone in
    if ok and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return ok


if __name__ == "__main__":
    main()
