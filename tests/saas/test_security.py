"""Keys at rest are bound to their row and rotate; passwords hash with scrypt and upgrade."""

import pytest
from werkzeug.security import generate_password_hash

from saas.models import User
from saas.security import (
    DecryptionError,
    EncryptionKeyError,
    KeyRing,
    bot_context,
    generate_key,
    hash_password,
    needs_rehash,
    verify_and_upgrade,
)
from saas.services.bots.config import Credentials

SECRET = "super-secret-api-value-123"


def test_a_value_decrypts_for_its_own_bot_only():
    ring = KeyRing.from_string(generate_key())
    token = ring.encrypt(bot_context(1), SECRET)
    assert SECRET not in token
    assert ring.decrypt(bot_context(1), token) == SECRET
    with pytest.raises(DecryptionError) as info:
        ring.decrypt(bot_context(2), token, "the API keys of bot 2")
    message = str(info.value)
    assert "bot 2" in message and token not in message and SECRET not in message


def test_the_first_key_encrypts_and_every_key_decrypts():
    old, new = generate_key(), generate_key()
    token = KeyRing.from_string(old).encrypt(bot_context(7), SECRET)
    both = KeyRing.from_string(f"{new}, {old}")
    assert both.decrypt(bot_context(7), token) == SECRET
    rotated = both.rotate(bot_context(7), token)
    assert KeyRing.from_string(new).decrypt(bot_context(7), rotated) == SECRET
    with pytest.raises(DecryptionError):
        KeyRing.from_string(new).decrypt(bot_context(7), token)


def test_a_wrong_key_fails_to_decrypt_with_a_clear_message():
    token = KeyRing.from_string(generate_key()).encrypt(bot_context(1), SECRET)
    with pytest.raises(DecryptionError, match="ENCRYPTION_KEY does not hold the key"):
        KeyRing.from_string(generate_key()).decrypt(bot_context(1), token)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "ENCRYPTION_KEY is not set"),
        (" , ", "ENCRYPTION_KEY is not set"),
        ("not-a-key", "key 1 of 1 is not a Fernet key"),
        (f"{generate_key()}, short", "key 2 of 2 is not a Fernet key"),
    ],
)
def test_missing_or_malformed_keys_are_one_line_without_key_material(value, message):
    with pytest.raises(EncryptionKeyError, match=message) as info:
        KeyRing.from_string(value)
    assert "\n" not in str(info.value)
    assert "short" not in str(info.value) and "not-a-key" not in str(info.value)


def test_reprs_hide_keys_and_credentials():
    key = generate_key()
    assert key not in repr(KeyRing.from_string(key))
    assert SECRET not in repr(Credentials(SECRET, SECRET))


def test_passwords_hash_with_scrypt_and_verify():
    user = User(email="a@example.com", password_hash=hash_password("pw one"))
    assert user.password_hash.startswith("scrypt:") and not needs_rehash(user.password_hash)
    assert verify_and_upgrade(user, "pw one")
    assert not verify_and_upgrade(user, "pw two")


def test_an_old_hash_is_upgraded_on_a_successful_login_only():
    old = generate_password_hash("pw", method="pbkdf2:sha256")  # the quick-start's hashes
    user = User(email="a@example.com", password_hash=old)
    assert not verify_and_upgrade(user, "wrong")
    assert user.password_hash == old
    assert verify_and_upgrade(user, "pw")
    assert user.password_hash.startswith("scrypt:") and verify_and_upgrade(user, "pw")


@pytest.mark.parametrize("stored", ["", "plaintext", "bcrypt$$$", "$2b$12$abc"])
def test_malformed_hashes_never_log_anyone_in(stored):
    assert not verify_and_upgrade(User(email="a@example.com", password_hash=stored), "plaintext")
