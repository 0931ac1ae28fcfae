"""Two-factor sign-in: TOTP (RFC 6238) codes with pyotp, a QR code, hashed recovery codes.

A user's two-factor state is one JSON document, encrypted with the key ring under the context
"user:<id>:totp" into ``users.totp_secret_encrypted``: the secret, the hashes of the unused
recovery codes and the last accepted time step (a code is accepted once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime

import pyotp

from saas.security import KeyRing, user_context

ISSUER = "dcabot"
STEP_SECONDS = 30
ALLOWED_DRIFT_STEPS = 1  # a code of the previous or next 30 s also counts (clock skew)
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
RECOVERY_GROUP = 5
STATE_VERSION = 1


@dataclass
class TwoFactorState:
    """What we keep of a user's second factor."""

    secret: str
    recovery_hashes: list[str] = field(default_factory=list)
    last_step: int = -1

    def to_json(self) -> str:
        """The stored document."""
        return json.dumps(
            {
                "v": STATE_VERSION,
                "secret": self.secret,
                "recovery": self.recovery_hashes,
                "last_step": self.last_step,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> TwoFactorState:
        """The state of a stored document (a bare base32 secret is read as a secret alone)."""
        try:
            data = json.loads(text)
        except ValueError:
            return cls(secret=text.strip())
        return cls(
            secret=data["secret"],
            recovery_hashes=list(data.get("recovery") or []),
            last_step=int(data.get("last_step", -1)),
        )


def new_secret() -> str:
    """A fresh random base32 secret (160 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, email: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_data_uri(text: str) -> str:
    """A QR code of ``text`` as an SVG data: URI (rendered here: no script, allowed by the CSP)."""
    import qrcode  # noqa: PLC0415 - only the set-up page needs it
    from qrcode.image.svg import SvgPathImage  # noqa: PLC0415

    image = qrcode.make(text, image_factory=SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _step(now: datetime) -> int:
    """The 30-second time step of ``now``."""
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime, last_step: int = -1) -> int | None:
    """The time step whose code ``code`` is (within the drift), if later than ``last_step``."""
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = _step(now)
    for step in range(current - ALLOWED_DRIFT_STEPS, current + ALLOWED_DRIFT_STEPS + 1):
        if step > last_step and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def normalize_recovery_code(code: str) -> str:
    """Lower case, without spaces or dashes: how a code is hashed."""
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def hash_recovery_code(code: str) -> str:
    """The stored form of a recovery code (codes are random, so one SHA-256 suffices)."""
    return hashlib.sha256(normalize_recovery_code(code).encode()).hexdigest()


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh codes such as "k7m2p-x9qrt" (about 49 bits each), shown to the user once."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(2 * RECOVERY_GROUP))
        codes.append(f"{raw[:RECOVERY_GROUP]}-{raw[RECOVERY_GROUP:]}")
    return codes


def load_state(user, ring: KeyRing) -> TwoFactorState | None:
    """The user's two-factor state, None when two-factor sign-in is off."""
    if not user.totp_secret_encrypted:
        return None
    text = ring.decrypt(
        user_context(user.id, "totp"),
        user.totp_secret_encrypted,
        f"the two-factor secret of user {user.id}",
    )
    return TwoFactorState.from_json(text)


def save_state(user, ring: KeyRing, state: TwoFactorState | None) -> None:
    """Store (or, with None, remove) the user's two-factor state."""
    if state is None:
        user.totp_secret_encrypted = None
        return
    user.totp_secret_encrypted = ring.encrypt(user_context(user.id, "totp"), state.to_json())


def enable(user, ring: KeyRing, secret: str, code: str, now: datetime) -> list[str] | None:
    """Turn two-factor on when ``code`` matches ``secret``; the new recovery codes, else None."""
    step = matching_step(secret, code, now)
    if step is None:
        return None
    codes = new_recovery_codes()
    save_state(user, ring, TwoFactorState(secret, [hash_recovery_code(c) for c in codes], step))
    return codes


def regenerate_recovery_codes(user, ring: KeyRing) -> list[str]:
    """Replace the user's recovery codes; the new ones, shown once."""
    state = load_state(user, ring)
    if state is None:
        raise ValueError("two-factor sign-in is not on")
    codes = new_recovery_codes()
    state.recovery_hashes = [hash_recovery_code(c) for c in codes]
    save_state(user, ring, state)
    return codes


def spend_code(user, ring: KeyRing, code: str, now: datetime) -> tuple[str, str] | None:
    """("totp" or "recovery", the state with the code spent, encrypted); None for a wrong code.

    Nothing is stored: the caller writes the new state only if the stored one is still the one
    read here (saas.services.accounts.credentials.consume_second_factor), so of several
    requests with the same code exactly one wins.
    """
    state = load_state(user, ring)
    if state is None:
        return None
    step = matching_step(state.secret, code, now, state.last_step)
    if step is not None:
        state.last_step, method = step, "totp"
    else:
        hashed = hash_recovery_code(code)
        if not normalize_recovery_code(code) or hashed not in state.recovery_hashes:
            return None
        state.recovery_hashes.remove(hashed)
        method = "recovery"
    return method, ring.encrypt(user_context(user.id, "totp"), state.to_json())


def check_second_factor(user, ring: KeyRing, code: str, now: datetime) -> str | None:
    """ "totp" or "recovery" when ``code`` is a fresh TOTP code or an unused recovery code.

    Either is then spent: the time step is remembered, the recovery code removed. The caller
    commits.
    """
    state = load_state(user, ring)
    if state is None:
        return None
    step = matching_step(state.secret, code, now, state.last_step)
    if step is not None:
        state.last_step = step
        save_state(user, ring, state)
        return "totp"
    hashed = hash_recovery_code(code)
    if normalize_recovery_code(code) and hashed in state.recovery_hashes:
        state.recovery_hashes.remove(hashed)
        save_state(user, ring, state)
        return "recovery"
    return None


def remaining_recovery_codes(user, ring: KeyRing) -> int:
    """How many recovery codes the user has left."""
    state = load_state(user, ring)
    return len(state.recovery_hashes) if state else 0
