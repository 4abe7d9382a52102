"""User accounts and API tokens: creation, password hashing (argon2id) and token hashing.

Passwords are hashed with argon2id (argon2-cffi). API tokens are long random strings; only
their SHA-256 is stored, so a token is shown once, when it is issued.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from dashboard.registry.models import ApiToken, User, utcnow
from dashboard.registry.vocab import ROLES

_hasher = PasswordHasher()
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "ccr_"
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def validate_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise AccountError(
            f"username {username!r} is not allowed; use 2-64 lower-case letters, digits, '.', '_' or '-'."
        )
    return name


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password too short ({len(password)} characters); use at least {MIN_PASSWORD_LENGTH}.")


def create_user(session: Session, username: str, password: str, role: str) -> User:
    """Add a user; refuses an unknown role, a taken username or a short password."""
    name = validate_username(username)
    if role not in ROLES:
        raise AccountError(f"role {role!r} is unknown; choose one of: {', '.join(ROLES)}.")
    validate_password(password)
    if session.scalar(sa.select(User.id).where(User.username == name)) is not None:
        raise AccountError(f"user {name!r} already exists.")
    user = User(username=name, password_hash=hash_password(password), role=role, active=True)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        # Spend the same effort as a real check so timing does not reveal which usernames exist.
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, username: str) -> str:
    """Create an API token for an active user and return it; only its digest is stored."""
    user = session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise AccountError(f"no user named {username!r}.")
    if not user.active:
        raise AccountError(f"user {user.username!r} is disabled; re-enable it before issuing a token.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token)))
    session.flush()
    return token


def user_for_token(session: Session, token: str):
    """The active user owning an unrevoked token (id, username, role, active), or None.

    Read as plain columns in one query, as it runs on every API call; the token's last use is
    written at most once a minute.
    """
    row = session.execute(
        sa.select(ApiToken.id.label("token_id"), ApiToken.last_used_at, User.id, User.username, User.role, User.active)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row.active:
        return None
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.timezone.utc)
    if last is None or now - last > TOKEN_USE_RESOLUTION:
        session.execute(sa.update(ApiToken).where(ApiToken.id == row.token_id).values(last_used_at=now))
    return row


_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))
