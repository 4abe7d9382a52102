"""The password policy, case by case (each verdict worked out by hand from the rules)."""

from __future__ import annotations

import pytest

from dashboard.config import ConfigError, load_settings, password_hash_profile
from dashboard.security.passwords import (
    MIN_PASSWORD_LENGTH,
    PasswordRejected,
    check_password,
    common_passwords,
    dummy_hash,
    generated_password,
    hash_password,
    verify_password,
)


@pytest.mark.parametrize(
    "password",
    [
        "correct-horse-battery",  # the test suite's own
        "demo-officer-2026",  # the demo accounts'
        "Tamworth canal at dusk",  # a passphrase with spaces
        "kx7#Qp2!vL9z",  # exactly 12, random
    ],
)
def test_acceptable_passwords(password):
    check_password(password)


@pytest.mark.parametrize(
    "password, says",
    [
        ("", "too short (0 characters)"),
        ("abcdefghijk", "too short (11 characters)"),  # one under 12
        ("x" * 129, "too long (129 characters)"),
        ("qwertyuiop123", "list of commonly used passwords"),  # 13 characters, but on the list
        ("PASSWORD1234", "list of commonly used passwords"),  # the list is matched case-blind
        ("liverpool2026!", "common password ('liverpool') with digits or symbols added"),
        ("Football!!!!12", "common password ('football')"),
        ("aaaaaaaaaaaaaaaa", "too few characters"),
        ("abababab1212", "too few characters"),  # 4 distinct
    ],
)
def test_rejected_passwords_say_which_rule(password, says):
    with pytest.raises(PasswordRejected, match=None) as caught:
        check_password(password)
    assert says in str(caught.value)


def test_a_password_containing_the_username_is_refused():
    with pytest.raises(PasswordRejected, match="contains the username"):
        check_password("my-name-is-officer7-ok", "officer7")
    check_password("my-name-is-officer7-ok", "analyst2")


def test_the_common_list_is_the_real_one():
    words = common_passwords()
    assert len(words) == 30_000
    assert {"123456", "password", "qwerty", "letmein"} <= words
    assert "correct-horse-battery" not in words


def test_generated_passwords_meet_the_policy_and_differ():
    made = {generated_password() for _ in range(20)}
    assert len(made) == 20
    for password in made:
        assert len(password) >= MIN_PASSWORD_LENGTH
        check_password(password)


def test_hashes_are_argon2id_and_verify():
    digest = hash_password("correct-horse-battery")
    assert digest.startswith("$argon2id$")
    assert verify_password(digest, "correct-horse-battery")
    assert not verify_password(digest, "correct-horse-batterY")
    assert not verify_password("not a hash", "x")


# --------------------------------------------------------------------------- how hard a hash is


def test_a_deployment_hashes_with_the_strong_parameters_unless_told_otherwise(monkeypatch):
    """The test suite runs with PASSWORD_HASH_PROFILE=test (tests/conftest.py); without it, as in any
    deployment, a hash is argon2id over 64 MiB (65536 KiB), 3 passes, 4 lanes: RFC 9106's second
    recommended option, written into the hash itself."""
    monkeypatch.delenv("PASSWORD_HASH_PROFILE", raising=False)
    assert password_hash_profile() == "strong"
    digest = hash_password("correct-horse-battery")
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), digest
    assert verify_password(digest, "correct-horse-battery")
    assert dummy_hash().startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_test_profile_is_cheaper_and_still_checks_strong_hashes(monkeypatch):
    monkeypatch.delenv("PASSWORD_HASH_PROFILE", raising=False)
    strong = hash_password("correct-horse-battery")
    monkeypatch.setenv("PASSWORD_HASH_PROFILE", "test")
    cheap = hash_password("correct-horse-battery")
    assert cheap.startswith("$argon2id$v=19$m=1024,t=1,p=1$"), cheap
    assert dummy_hash().startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    # A stored hash carries its own parameters: a strong one is checked as strong under either profile.
    assert verify_password(strong, "correct-horse-battery") and not verify_password(strong, "correct-horse-batterY")
    assert verify_password(cheap, "correct-horse-battery")


@pytest.mark.parametrize("value", ["weak", "none", "fast"])
def test_an_unknown_hash_profile_stops_start_up(monkeypatch, reference_dir, value):
    monkeypatch.setenv("PASSWORD_HASH_PROFILE", value)
    with pytest.raises(ConfigError, match="PASSWORD_HASH_PROFILE="):
        hash_password("correct-horse-battery")
    env = {"PASSWORD_HASH_PROFILE": value, "SECRET_KEY": "k" * 48, "REFERENCE_DATA_DIR": str(reference_dir)}
    with pytest.raises(ConfigError, match="is not a profile"):
        load_settings(env, create_secret=False)


def test_settings_say_strong_by_default(reference_dir):
    env = {"SECRET_KEY": "k" * 48, "REFERENCE_DATA_DIR": str(reference_dir)}
    assert load_settings(env, create_secret=False).password_hash_profile == "strong"
    assert (
        load_settings({**env, "PASSWORD_HASH_PROFILE": " Test "}, create_secret=False).password_hash_profile == "test"
    )


# --------------------------------------------------------------------------- strength (zxcvbn)


@pytest.mark.parametrize(
    "password, context, says",
    [
        ("123456789012", (), "too easy to guess"),  # 12 digits: ~15,000 guesses
        ("qwertyuiopas", (), "a common keyboard pattern"),  # the top row of the keyboard
        ("Staffordshire1", ("Staffordshire",), "the force's name"),  # the force's own name and a digit
        ("abcdefghijklmn", (), "a sequence"),
    ],
)
def test_easily_guessed_passwords_are_refused_in_plain_words(password, context, says):
    with pytest.raises(PasswordRejected) as caught:
        check_password(password, "jane.admin", context=context)
    message = str(caught.value)
    assert says in message and "too easy to guess" in message
    assert "zxcvbn" not in message and "score" not in message


def test_the_username_counts_as_a_guessable_word():
    with pytest.raises(PasswordRejected):
        check_password("Hollingsworth7", "hollingsworth")  # contains the username (the older rule)
    with pytest.raises(PasswordRejected, match="too easy to guess"):
        check_password("Wolverhampton9", "j.wolverhampton")  # a part of the username


def test_a_strong_password_passes_with_the_context_given():
    check_password("tawny-owl-lantern-quay", "jane.admin", context=("Staffordshire",))


def test_the_demo_passwords_pass_the_policy():
    from dashboard.demo import DEMO_USERS

    for username, _, password in DEMO_USERS:
        check_password(password, username, context=("Staffordshire",))
