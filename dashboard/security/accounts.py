"""User accounts and API tokens: creating, disabling and re-enabling users, roles, password
resets, and issuing and revoking tokens. Every change an administrator makes is audit-logged.

Passwords are hashed with argon2id and checked against the policy in ``passwords``. API tokens
are long random strings; only their SHA-256 is stored, so a token is shown once, when issued.
Disabling a user or resetting their password ends their login sessions at once.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from dashboard.core.digests import token_digest
from dashboard.core.vocab import ROLE_LABELS, ROLES
from dashboard.registry import audit
from dashboard.registry.models import ApiToken, AuditEvent, User, utcnow
from dashboard.security import sessions
from dashboard.security.passwords import (
    PasswordRejected,
    check_password,
    dummy_hash,
    generated_password,
    hash_password,
    verify_password,
)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
TOKEN_PREFIX = "ccr_"
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


def validate_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise AccountError(
            f"username {username!r} is not allowed; use 2-64 lower-case letters, digits, '.', '_' or '-'."
        )
    return name


def validate_password(password: str, username: str | None = None, context: tuple[str, ...] = ()) -> None:
    try:
        check_password(password, username, context)
    except PasswordRejected as exc:
        raise AccountError(str(exc)) from None


def _valid_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"role {role!r} is unknown; choose one of: {', '.join(ROLES)}.")
    return role


def create_user(session: Session, username: str, password: str, role: str, *, context: tuple[str, ...] = ()) -> User:
    """Add a user; refuses an unknown role, a taken username or a password the policy rejects.
    ``context``: words the password must not lean on besides the username (the force's name)."""
    name = validate_username(username)
    _valid_role(role)
    validate_password(password, name, context)
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
        verify_password(dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user


def issue_token(session: Session, username: str) -> str:
    """Create an API token for an active user and return it; only its digest is stored.

    No check of who asks and nothing logged: the building block of ``issue_own_token`` (the only
    way the app and the command line issue tokens, to their owner alone) and of test fixtures."""
    user = session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise AccountError(f"no user named {username!r}.")
    if not user.active:
        raise AccountError(f"user {user.username!r} is disabled; re-enable it before issuing a token.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token)))
    session.flush()
    return token


_TOKEN_USER = (
    sa.select(ApiToken.id.label("token_id"), ApiToken.last_used_at, User.id, User.username, User.role, User.active)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == sa.bindparam("digest"), ApiToken.revoked_at.is_(None))
)
_TOKEN_USED = (
    sa.update(ApiToken.__table__)
    .where(ApiToken.__table__.c.id == sa.bindparam("token_id"))
    .values(last_used_at=sa.bindparam("now"))
)


def user_for_token(conn: Connection, token: str):
    """The active user owning an unrevoked token (id, username, role, active), or None.

    One Core query on ``conn`` (no ORM session: it runs on every API call); the token's last
    use is written at most once a minute.
    """
    row = conn.execute(_TOKEN_USER, {"digest": token_digest(token)}).first()
    if row is None or not row.active:
        return None
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    if last is None or now - last > TOKEN_USE_RESOLUTION:
        conn.execute(_TOKEN_USED, {"token_id": row.token_id, "now": now})
    return row


# Administration: each function takes the acting administrator, checks that they still are one,
# and logs the change. Administrators cannot disable or demote themselves, so the one acting is
# always left: the register can never be locked out of its last administrator.


def _admin(session: Session, actor: audit.Actor) -> None:
    row = session.get(User, actor.user_id) if actor.user_id is not None else None
    if row is None or not row.active or row.role != "admin":
        raise AccountError("Only an active administrator can manage accounts.")


def _target(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if isinstance(user_id, int) and not isinstance(user_id, bool) else None
    if user is None:
        raise AccountError(f"There is no user with id {user_id!r}.")
    return user


def add_user(
    session: Session,
    actor: audit.Actor,
    username: str,
    role: str,
    password: str | None = None,
    *,
    context: tuple[str, ...] = (),
) -> tuple[User, str | None]:
    """Create a user. With no password a random one is generated and returned (shown once);
    a typed password must meet the policy and is not returned."""
    _admin(session, actor)
    generated = generated_password() if not password else None
    user = create_user(session, username, password or generated, role, context=context)
    audit.record(
        session,
        actor,
        "user_created",
        subject_ids=[user.id],
        detail={"username": user.username, "role": user.role, "password": "generated" if generated else "set"},
    )
    return user, generated


def set_role(session: Session, actor: audit.Actor, user_id: int, role: str) -> User:
    _admin(session, actor)
    user, new = _target(session, user_id), _valid_role(role)
    if user.role == new:
        raise AccountError(f"{user.username} is already {ROLE_LABELS[new].lower()}.")
    if user.id == actor.user_id:
        raise AccountError("You cannot change your own role; ask another administrator.")
    old, user.role = user.role, new
    session.flush()
    audit.record(
        session,
        actor,
        "role_changed",
        subject_ids=[user.id],
        detail={"username": user.username, "from": old, "to": new},
    )
    return user


def disable_user(session: Session, actor: audit.Actor, user_id: int) -> int:
    """Disable a user: their login sessions end and their API tokens are revoked at once.
    Returns how many sessions were ended."""
    _admin(session, actor)
    user = _target(session, user_id)
    if not user.active:
        raise AccountError(f"{user.username} is already disabled.")
    if user.id == actor.user_id:
        raise AccountError("You cannot disable your own account.")
    return _switch_off(session, actor, user)


def _switch_off(session: Session, actor: audit.Actor, user: User, reason: str | None = None) -> int:
    """Disable ``user``: end their sessions, revoke their API tokens, log ``user_disabled``.
    Returns how many sessions were ended."""
    user.active = False
    ended = sessions.end_user_sessions(session, user.id, "disabled")
    revoked = (
        session.execute(
            sa.update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ).rowcount
        or 0
    )
    session.flush()
    audit.record(
        session,
        actor,
        "user_disabled",
        reason=reason,
        subject_ids=[user.id],
        detail={"username": user.username, "sessions_ended": ended, "tokens_revoked": int(revoked)},
    )
    return ended


def disable_published_demo_accounts(session: Session, demo_users, reason: str) -> list[str]:
    """Disable every active account among ``demo_users`` ((username, role, published password)
    triples) whose published password still works, ending its sessions and revoking its tokens,
    each logged as ``user_disabled`` by the system with ``reason``. For a database that has real
    accounts beside a demo's: anyone who has read the README could otherwise log in there.
    Returns the usernames disabled."""
    system = audit.Actor(None, "start-up check", None)
    disabled = []
    for username, role, password in demo_users:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None or not user.active or user.role != role or not verify_password(user.password_hash, password):
            continue
        _switch_off(session, system, user, reason)
        disabled.append(user.username)
    return disabled


def enable_user(session: Session, actor: audit.Actor, user_id: int) -> User:
    _admin(session, actor)
    user = _target(session, user_id)
    if user.active:
        raise AccountError(f"{user.username} is already enabled.")
    user.active = True
    session.flush()
    audit.record(session, actor, "user_enabled", subject_ids=[user.id], detail={"username": user.username})
    return user


def reset_password(session: Session, actor: audit.Actor, user_id: int) -> str:
    """Give a user a new random password (returned, to be shown once); their sessions end."""
    _admin(session, actor)
    user = _target(session, user_id)
    password = generated_password()
    user.password_hash = hash_password(password)
    ended = sessions.end_user_sessions(session, user.id, "password")
    session.flush()
    audit.record(
        session,
        actor,
        "password_reset",
        subject_ids=[user.id],
        detail={"username": user.username, "sessions_ended": ended},
    )
    return password


class TokenRefused(AccountError):
    """A token refused to the one asking for it (logged as ``token_refused``)."""


TOKEN_MAX_FAILURES = 5  # wrong passwords when asking for a token, per account, within TOKEN_FAILURE_WINDOW
TOKEN_FAILURE_WINDOW = dt.timedelta(minutes=15)


def issue_own_token(session: Session, actor: audit.Actor, password: str, *, via: str) -> str:
    """Issue an API token to the signed-in user ``actor`` themselves, after they type their password
    again, and return it (shown once; only its digest is kept).

    Tokens are issued only to their owner: an administrator cannot mint one for someone else, so
    every search made with a token was made by the person it is logged as (issue 15). The password
    is asked again so that a session left open (or a stolen session cookie) cannot turn itself into
    a long-lived token. A wrong password is refused and logged (``token_refused``); after
    ``TOKEN_MAX_FAILURES`` of them in ``TOKEN_FAILURE_WINDOW`` the account gets no token, whatever
    is typed, until the oldest leaves the window. The issue is logged as ``token_issued`` by the
    owner, with ``via`` (the page or the command line).
    """
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not user.active:
        raise AccountError("Only a signed-in, active user may have an API token.")
    me = audit.Actor(user.id, user.username, user.role)
    since = utcnow() - TOKEN_FAILURE_WINDOW
    failures = session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "token_refused", AuditEvent.user_id == user.id, AuditEvent.occurred_at >= since)
    )
    if failures >= TOKEN_MAX_FAILURES:
        _refuse_token(
            session,
            me,
            "throttled",
            via,
            f"Too many wrong passwords: wait "
            f"{int(TOKEN_FAILURE_WINDOW.total_seconds() // 60)} minutes, then try again.",
        )
    if not isinstance(password, str) or not password or not verify_password(user.password_hash, password):
        _refuse_token(session, me, "wrong_password", via, "That is not your password; no token was issued.")
    token = issue_token(session, user.username)
    token_id = session.scalar(sa.select(ApiToken.id).where(ApiToken.token_hash == token_digest(token)))
    audit.record(
        session,
        me,
        "token_issued",
        subject_ids=[user.id],
        detail={"username": user.username, "token_id": token_id, "via": via},
    )
    return token


def _refuse_token(session: Session, me: audit.Actor, why: str, via: str, message: str):
    audit.record_alone(session, me, "token_refused", subject_ids=[me.user_id], detail={"why": why, "via": via})
    raise TokenRefused(message)


def own_tokens(session: Session, actor: audit.Actor) -> pd.DataFrame:
    """The signed-in user's own API tokens (``token_table``)."""
    return token_table(session, actor.user_id) if actor.user_id is not None else token_table(session, -1)


def revoke_token(session: Session, actor: audit.Actor, token_id: int) -> None:
    _admin(session, actor)
    token = session.get(ApiToken, token_id) if isinstance(token_id, int) else None
    if token is None:
        raise AccountError(f"There is no API token with id {token_id!r}.")
    if token.revoked_at is not None:
        raise AccountError(f"Token {token_id} is already revoked.")
    token.revoked_at = utcnow()
    user = session.get(User, token.user_id)
    session.flush()
    audit.record(
        session,
        actor,
        "token_revoked",
        subject_ids=[token.user_id],
        detail={"username": user.username if user else None, "token_id": token_id},
    )


def user_table(session: Session, open_since: dt.datetime) -> pd.DataFrame:
    """One row per user: id, username, role, active, created_at, last_login_at, open_sessions
    (started after ``open_since`` and not ended) and tokens (not revoked)."""
    tokens = dict(
        session.execute(
            sa.select(ApiToken.user_id, sa.func.count()).where(ApiToken.revoked_at.is_(None)).group_by(ApiToken.user_id)
        ).all()
    )
    open_counts = sessions.open_session_counts(session, open_since)
    rows = session.execute(
        sa.select(User.id, User.username, User.role, User.active, User.created_at, User.last_login_at).order_by(
            User.username
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["id", "username", "role", "active", "created_at", "last_login_at"])
    frame["open_sessions"] = [open_counts.get(int(i), 0) for i in frame["id"]]
    frame["tokens"] = [int(tokens.get(int(i), 0)) for i in frame["id"]]
    return frame


def token_table(session: Session, user_id: int) -> pd.DataFrame:
    """A user's API tokens, newest first: id, created_at, last_used_at, revoked_at."""
    rows = session.execute(
        sa.select(ApiToken.id, ApiToken.created_at, ApiToken.last_used_at, ApiToken.revoked_at)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.id.desc())
    ).all()
    return pd.DataFrame(rows, columns=["id", "created_at", "last_used_at", "revoked_at"])
