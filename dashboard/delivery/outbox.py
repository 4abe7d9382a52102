"""The persistent outbox: messages to owners are rows in ``outbox_message`` until they are sent.

A footage request queues its messages in the same transaction that records it
(``casework.create_requests``); senders (a thread in each web process, ``worker.py``, and
``python -m dashboard outbox run``) take them from the table. A row holds no address and no words:
both are read from the register when the message is sent, so an owner who withdraws in the meantime
gets nothing (the message is ``cancelled``).

Claims. A sender claims one due message with a compare-and-set UPDATE (``state`` queued and due, or
``sending`` with an expired lease -> ``sending`` with ``claimed_until`` = now + lease, ``attempts`` + 1);
the UPDATE matches one row or none, so two senders (processes or threads) can never both hold a
message. The claim's ``claimed_until`` is its ticket: every later change is made only where it still
holds, so a sender whose lease ran out and was taken over cannot finish the message (it drops the
connection before the terminator, and the relay discards what it had). Handing over renews the lease.

Exactly once, for email, across a crash. An SMTP server is responsible for a message only once it has
received the terminator ``<CRLF>.<CRLF>`` of DATA and answered 250. The sender sends MAIL, RCPT, DATA
and the whole body, then (still before the terminator) commits ``state = 'handed_over'`` together
with the response link's new token hash, then sends the terminator, and marks ``sent`` on 250:

- killed before that commit: the server never got a terminator and discarded the body; the row is
  still ``sending`` and is taken again when its lease expires (a new token; the unsent one never
  worked, as its hash was never committed);
- killed after the commit: the row is ``handed_over``, treated as delivered (unconfirmed): never sent
  again. The window is the time between one local commit and one write to the socket; if the
  terminator was lost in it the owner gets nothing (at most once, never twice). A ``handed_over`` row
  older than its lease is recorded as sent, unconfirmed (``sweep``);
- an error reply to the terminator (4xx/5xx): back to ``queued`` with back-off (or ``failed``).

Text messages (GOV.UK Notify) are one HTTPS call: the token is committed before the call (the row
still ``sending``), the row marked ``sent`` after. A sender killed during the call leaves ``sending``;
whoever takes it again first asks Notify whether a text with the message's reference was accepted,
and only sends if not.

Retries. A temporary failure (no connection, an SMTP 4xx, Notify 429/5xx) puts the message back in
the queue after 1, 2, 4, 8 ... minutes (at most an hour); after ``MAX_ATTEMPTS`` attempts, or on a
permanent refusal (SMTP 5xx, Notify 400), it is ``failed`` with the reason, which the officer sees.
Each outcome is written to the audit log (``message_sent``, ``message_retry``, ``message_failed``,
``message_cancelled``) by the system, with the case reference and never the address.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import types
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from dashboard.delivery import messages, notify, smtp
from dashboard.footage import links
from dashboard.registry import audit
from dashboard.registry.channels import is_mobile
from dashboard.registry.database import hold_write_lock
from dashboard.registry.models import Camera, FootageRequest, FootageResponse, OutboxMessage, Registrant, utcnow

log = logging.getLogger(__name__)

LEASE_S = 120  # a claim lasts this long; a sender that stops is taken over after it
FIRST_RETRY_S = 60
MAX_RETRY_S = 3600
MAX_ATTEMPTS = 8
_T = OutboxMessage.__table__
_R = FootageResponse.__table__


def backoff(attempts: int) -> dt.timedelta:
    """The wait before attempt ``attempts + 1``: 1, 2, 4, 8 ... minutes, at most an hour.

    >>> [int(backoff(n).total_seconds() // 60) for n in (1, 2, 3, 4, 7, 8)]
    [1, 2, 4, 8, 60, 60]
    """
    return dt.timedelta(seconds=min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S))


@dataclass(frozen=True)
class Claim:
    message_id: int
    lease: dt.datetime  # this claim's claimed_until: the ticket
    was_sending: bool  # taken over from a sender whose lease expired
    attempts: int


def _due(now: dt.datetime):
    return sa.or_(
        sa.and_(_T.c.state == "queued", _T.c.next_attempt_at <= now),
        sa.and_(_T.c.state == "sending", _T.c.claimed_until < now),
    )


def claim(sessions: sessionmaker[Session], now: dt.datetime, lease_s: float = LEASE_S) -> Claim | None:
    """Claim the most urgent due message (lowest priority number, then the longest waiting), or None.

    A request waits while an urgent notice to the same owner for the same case is still queued or
    being sent, so the notice goes first."""
    early = _T.alias("early")
    notice_pending = sa.exists().where(
        early.c.response_id == _T.c.response_id,
        early.c.kind == "preservation",
        early.c.state.in_(("queued", "sending")),
        early.c.id != _T.c.id,
    )
    candidates = (
        sa.select(_T.c.id, _T.c.state, _T.c.attempts)
        .where(_due(now), sa.or_(_T.c.kind != "request", ~notice_pending))
        .order_by(_T.c.priority, _T.c.next_attempt_at, _T.c.id)
        .limit(8)
    )
    lease = now + dt.timedelta(seconds=lease_s)
    with sessions() as s:
        for message_id, state, attempts in s.execute(candidates).all():
            won = s.execute(
                _T.update()
                .where(_T.c.id == message_id, _T.c.state == state, _due(now))
                .values(state="sending", claimed_until=lease, attempts=_T.c.attempts + 1)
            ).rowcount
            s.commit()
            if won == 1:
                return Claim(int(message_id), lease, state == "sending", int(attempts) + 1)
    return None


@dataclass(frozen=True)
class Prepared:
    message_id: int
    kind: str
    channel: str
    case_ref: str
    response_id: int
    response_public_id: str
    address: str
    facts: messages.MessageFacts
    token_hash: str | None
    link_expires_at: dt.datetime | None
    created_at: dt.datetime


def _nobody_to_tell(s: Session, response_id: int, *, lock: bool = False) -> str | None:
    """Why the response's owner is no longer to be sent anything (withdrawn, or answered), or None.
    ``lock``: hold a share lock on the owner's row (PostgreSQL) until the transaction ends."""
    query = (
        sa.select(Registrant.status, _R.c.answered_at)
        .join(_R, _R.c.registrant_id == Registrant.id)
        .where(_R.c.id == response_id)
    )
    row = s.execute(query.with_for_update(read=True, of=Registrant) if lock else query).first()
    if row is None or row.status != "active":
        return "the owner withdrew their registration"
    return "the owner had already answered" if row.answered_at is not None else None


class Sender:
    """Sends due messages with the configured services (``settings``: SMTP_URL, Notify)."""

    def __init__(
        self,
        settings,
        sessions: sessionmaker[Session],
        force_name: str,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        lease_s: float = LEASE_S,
    ) -> None:
        self.settings, self.sessions, self.force_name = settings, sessions, force_name
        self.clock, self.lease_s = clock, lease_s

    # ------------------------------------------------------------------ the loop

    def run_once(self, limit: int | None = None, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Send due messages until none is due (or ``limit`` were handled, or ``should_stop()``);
        returns how many were handled (sent, retried, failed or cancelled)."""
        self.sweep()
        done = 0
        while (limit is None or done < limit) and not should_stop():
            taken = claim(self.sessions, self.clock(), self.lease_s)
            if taken is None:
                break
            try:
                self.deliver(taken)
            except Exception:  # one bad message must not stop the outbox; its lease lapses
                log.exception("outbox message %s could not be handled", taken.message_id)
            done += 1
        return done

    def sweep(self) -> int:
        """Record messages handed over to the relay by a sender that stopped before the relay's answer
        as sent (unconfirmed): the relay had the whole message; it is never sent again."""
        now = self.clock()
        with self.sessions() as s:
            rows = s.execute(
                sa.select(_T.c.id, _T.c.claimed_until).where(_T.c.state == "handed_over", _T.c.claimed_until < now)
            ).all()
            for message_id, lease in rows:
                won = s.execute(
                    _T.update()
                    .where(_T.c.id == message_id, _T.c.state == "handed_over", _T.c.claimed_until == lease)
                    .values(
                        state="sent",
                        sent_at=lease,
                        claimed_until=None,
                        last_error="handed to the mail relay; its answer was not received",
                    )
                ).rowcount
                if won:
                    self._audit(s, message_id, "message_sent", confirmed=False)
                s.commit()
        return len(rows)

    # ------------------------------------------------------------------ one message

    def deliver(self, taken: Claim) -> str:
        """Send one claimed message; returns its new state."""
        now = self.clock()
        if taken.attempts > MAX_ATTEMPTS:  # its senders kept stopping before they could record anything
            return self._finish(
                taken,
                "failed",
                action="message_failed",
                error=f"gave up after {MAX_ATTEMPTS} attempts that did not finish",
            )
        with self.sessions() as s:
            prepared, why_not = self._prepare(s, taken.message_id, now)
        if prepared is None:
            return self._finish(taken, "cancelled", error=why_not, action="message_cancelled")
        if prepared.channel == "email":
            return self._send_email(taken, prepared)
        return self._send_text(taken, prepared)

    def _prepare(self, s: Session, message_id: int, now: dt.datetime) -> tuple[Prepared | None, str | None]:
        message = s.get(OutboxMessage, message_id)
        response = s.get(FootageResponse, message.response_id)
        owner = s.get(Registrant, response.registrant_id)
        if owner is None or owner.status != "active":
            return None, "the owner has withdrawn from the register"
        if response.answered_at is not None:
            return None, "the owner has already answered"
        rows = s.execute(
            sa.select(
                FootageRequest.incident_from,
                FootageRequest.incident_to,
                Camera.kind,
                Camera.placement,
                Camera.direction_deg,
            )
            .join(Camera, Camera.id == FootageRequest.camera_id)
            .where(FootageRequest.response_id == response.id, FootageRequest.status.in_(("sent", "no_response")))
            .order_by(FootageRequest.id)
        ).all()
        if not rows:
            return None, "the requests were withdrawn or closed"
        if message.channel == "email":
            address = owner.email
            if not address:
                return None, "the owner no longer has an email address"
            if not self.settings.smtp_url:
                return None, "email is no longer set up (SMTP_URL)"
        else:
            address = owner.phone
            if not is_mobile(address):
                return None, "the owner no longer has a mobile number"
            if not self.settings.notify_api_key:
                return None, "text messages are no longer set up (NOTIFY_API_KEY)"
        token = token_hash = expires = None
        if message.kind == "request":
            holder = types.SimpleNamespace()
            token = links.issue(holder, now, self.settings.response_link_days)
            token_hash, expires = holder.token_hash, holder.link_expires_at
        facts = messages.MessageFacts(
            force_name=self.force_name,
            owner_name=owner.name or "",
            case_ref=response.case_ref,
            incident_from=min(r.incident_from for r in rows),
            incident_to=max(r.incident_to for r in rows),
            cameras=tuple(messages.OwnerCamera(r.kind, r.placement, r.direction_deg) for r in rows),
            shared_detail=response.shared_detail,
            link=f"{self.settings.public_base_url}/respond/{token}" if token else None,
            link_expires_at=expires,
            link_days=self.settings.response_link_days,
        )
        return Prepared(
            message.id,
            message.kind,
            message.channel,
            response.case_ref,
            response.id,
            response.public_id,
            address,
            facts,
            token_hash,
            expires,
            message.created_at,
        ), None

    def _own(self, taken: Claim, state: str = "sending"):
        return sa.and_(_T.c.id == taken.message_id, _T.c.state == state, _T.c.claimed_until == taken.lease)

    def _hand_over(self, taken: Claim, prepared: Prepared, new_state: str) -> Claim | None:
        """Commit the link's token (request messages) and ``new_state`` while the claim still holds, with a
        fresh lease (the relay's answer may take a while); returns the renewed claim, or None when the
        message is no longer ours."""
        renewed = dataclasses.replace(taken, lease=self.clock() + dt.timedelta(seconds=self.lease_s))
        with self.sessions() as s:
            # Still someone to send to? The owner may have withdrawn (or answered) while the body was
            # on its way to the relay: then the terminator is never sent and the relay discards it; the
            # message is cancelled when it is next taken. The check and the hand-over are one unit:
            # SQLite's write lock now; on PostgreSQL a share lock on the owner's row (erasure waits).
            hold_write_lock(s)
            if _nobody_to_tell(s, prepared.response_id, lock=True) is not None:
                s.rollback()
                return None
            won = s.execute(
                _T.update().where(self._own(taken)).values(state=new_state, claimed_until=renewed.lease)
            ).rowcount
            if won != 1:
                s.rollback()
                return None
            if prepared.token_hash is not None:
                s.execute(
                    _R.update()
                    .where(_R.c.id == prepared.response_id)
                    .values(token_hash=prepared.token_hash, link_expires_at=prepared.link_expires_at)
                )
            s.commit()
            return renewed

    def _send_email(self, taken: Claim, prepared: Prepared) -> str:
        email = (messages.request_email if prepared.kind == "request" else messages.preservation_email)(prepared.facts)
        held = {"claim": taken}

        def before_terminator() -> bool:
            renewed = self._hand_over(taken, prepared, "handed_over")
            if renewed is not None:
                held["claim"] = renewed
            return renewed is not None

        try:
            reply = smtp.send_two_phase(
                self.settings.smtp_url, self.settings.mail_from, prepared.address, email, before_terminator
            )
        except smtp.Abandoned:
            with self.sessions() as s:
                why = _nobody_to_tell(s, prepared.response_id)
            if why is not None:  # the owner withdrew or answered meanwhile: the relay discarded the message
                return self._finish(taken, "cancelled", error=why, action="message_cancelled")
            return "abandoned"
        except smtp.SendError as exc:
            return self._failed(held["claim"], exc, "handed_over" if exc.after_handover else "sending")
        return self._finish(held["claim"], "sent", provider_ref=reply, from_state="handed_over", action="message_sent")

    def _send_text(self, taken: Claim, prepared: Prepared) -> str:
        reference = str(prepared.message_id)
        if taken.was_sending:  # a sender stopped during its call to Notify: was the text accepted?
            try:
                found = notify.find_sent(self.settings, reference, prepared.created_at)
            except smtp.SendError as exc:
                return self._failed(taken, exc, "sending")
            if found:
                return self._finish(taken, "sent", provider_ref=found, action="message_sent")
        if prepared.kind == "request":
            template, fields = self.settings.notify_request_template, messages.request_personalisation(prepared.facts)
        else:
            template = self.settings.notify_preservation_template
            fields = messages.preservation_personalisation(prepared.facts)
        renewed = self._hand_over(taken, prepared, "sending")  # commits the link's token; still ours
        if renewed is None:
            return "abandoned"
        taken = renewed
        try:
            provider_ref = notify.send_text(self.settings, prepared.address, template, fields, reference)
        except smtp.SendError as exc:
            return self._failed(taken, exc, "sending")
        return self._finish(taken, "sent", provider_ref=provider_ref, action="message_sent")

    def _failed(self, taken: Claim, exc: smtp.SendError, from_state: str) -> str:
        if exc.temporary and taken.attempts < MAX_ATTEMPTS:
            return self._finish(
                taken,
                "queued",
                error=str(exc),
                from_state=from_state,
                action="message_retry",
                retry_at=self.clock() + backoff(taken.attempts),
            )
        return self._finish(taken, "failed", error=str(exc), from_state=from_state, action="message_failed")

    def _finish(
        self,
        taken: Claim,
        state: str,
        *,
        action: str,
        error: str | None = None,
        provider_ref: str | None = None,
        from_state: str = "sending",
        retry_at: dt.datetime | None = None,
    ) -> str:
        now = self.clock()
        values: dict = {"state": state, "claimed_until": None, "last_error": error[:300] if error else None}
        if state == "sent":
            values.update(sent_at=now, provider_ref=provider_ref)
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        with self.sessions() as s:
            won = s.execute(_T.update().where(self._own(taken, from_state)).values(**values)).rowcount
            if won != 1:
                s.rollback()
                return "abandoned"
            self._audit(s, taken.message_id, action, error=error, retry_at=retry_at, attempts=taken.attempts)
            s.commit()
        return state

    def _audit(
        self,
        s: Session,
        message_id: int,
        action: str,
        *,
        error: str | None = None,
        retry_at: dt.datetime | None = None,
        attempts: int | None = None,
        confirmed: bool = True,
    ) -> None:
        row = s.execute(
            sa.select(_T.c.kind, _T.c.channel, _T.c.attempts, _R.c.case_ref, _R.c.public_id)
            .join(_R, _R.c.id == _T.c.response_id)
            .where(_T.c.id == message_id)
        ).one()
        detail = {
            "message_id": message_id,
            "kind": row.kind,
            "channel": row.channel,
            "response": row.public_id,
            "attempt": attempts if attempts is not None else row.attempts,
        }
        if error:
            detail["error"] = error[:300]
        if retry_at is not None:
            detail["retry_at"] = retry_at.isoformat(timespec="seconds")
        if not confirmed:
            detail["confirmed"] = False
        what = "Footage request" if row.kind == "request" else "Urgent keep-your-footage notice"
        how = "email" if row.channel == "email" else "text message"
        audit.record(
            s, audit.SYSTEM, action, case_ref=row.case_ref, reason=f"{what} to the owner by {how}", detail=detail
        )
