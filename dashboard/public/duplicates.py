"""Mail to owners about their private link, sent after the answer by background threads.

Three occasions, one mechanism:

- **A new registration with an email address**: its private link, as the page showed it once.
- **The same email address registering the same postcode again**: whoever sends the form is
  answered exactly as for a first registration (issue 15, item 5): anyone can type someone's email
  address and postcode, and a different answer would confirm that this person has cameras at that
  address. The new registration is kept (nothing sent is lost) and the owner on file is emailed a
  fresh private link for the earlier one, naming the new one and giving its link, at most once per
  ``RESEND_COOLDOWN`` (an inbox cannot be flooded; within it the plain registration mail goes).
- **"Lost your link?"** (issue 18): an email address and a postcode; every active registration made
  with both gets a fresh link, in one mail. The page answers the same whether or not there is one.

A fresh link replaces the old one only once the relay has taken the mail; if the relay fails, the
old link is kept and nothing is recorded. The mail goes a few seconds after the answer has been
sent, so the answer costs the request the same time whatever the register holds: its timing tells
nothing. The queue is in memory (a link shown on the page is held only until its mail is sent,
never stored): a process stopped in those seconds loses the mail, and "Lost your link?" sends a new
one. Without a mail relay (``SMTP_URL``) nothing is sent.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import random
import threading
import time

import sqlalchemy as sa

from dashboard.footage.wording import UK
from dashboard.mail import LinkFor, MailError, lost_link_message, registered_message, repeat_registration_message, send
from dashboard.registry import registration
from dashboard.registry.database import transaction
from dashboard.registry.models import Camera, Registrant, Site

RESEND_COOLDOWN = dt.timedelta(minutes=10)
# Seconds after the answer that the mail is sent, drawn afresh each time: the worker's own work
# (database, relay) then falls on whatever requests are being served by then, anyone's, never
# on the repeat's own answer or the one right after it.
MAIL_DELAY_S = (1.0, 4.0)
# Each job runs on its own thread (up to this many at once), so no job waits behind another's
# relay round trip: with one worker, a look-up that found a registration (and talked to the relay)
# delayed the next job's mail, and an attacker timing their own mail after asking for someone
# else's email and postcode learned whether that person is registered there.
MAIL_THREADS = 64
log = logging.getLogger(__name__)
_worker: concurrent.futures.ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()
_pending: set[concurrent.futures.Future] = set()


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = concurrent.futures.ThreadPoolExecutor(max_workers=MAIL_THREADS, thread_name_prefix="owner-mail")
        return _worker


def _queue(job, *args) -> None:
    future = _pool().submit(job, *args, time.monotonic() + random.uniform(*MAIL_DELAY_S))
    with _worker_lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: concurrent.futures.Future) -> None:
    with _worker_lock:
        _pending.discard(future)


def after_registering(rt, done: registration.Registered) -> None:
    """Called for every registration alike, after its transaction: one with an email address queues
    its link's mail (for a repeat, the earlier owner's mail, which carries it too)."""
    if rt.settings.smtp_url is not None and (done.email_given or done.repeat_of is not None):
        _queue(_after_registration, rt, done.registrant_id, done.token, done.repeat_of)


def lost_link(rt, email: str, postcode: str) -> None:
    """Queue fresh links for every active registration made with ``email`` at ``postcode`` (both
    normalised as stored). Called for every request alike, found or not: the look-up is the worker's."""
    if rt.settings.smtp_url is not None:
        _queue(_send_lost_links, rt, email, postcode)


def drain(timeout_s: float = 60.0) -> None:
    """Wait until every mail queued so far has been handled (tests; an orderly shutdown)."""
    with _worker_lock:
        waiting = set(_pending)
    if concurrent.futures.wait(waiting, timeout=timeout_s).not_done:
        raise TimeoutError(f"owner mail still being sent after {timeout_s} s")


def _wait(due: float) -> None:
    time.sleep(max(0.0, due - time.monotonic()))


def _url(rt, token: str) -> str:
    return f"{rt.settings.public_base_url}/manage/{token}"


def _after_registration(rt, new_id: int, new_token: str, repeat_of: int | None, due: float) -> None:
    # No transaction stays open while the relay is talked to: on SQLite that would hold the write
    # lock for the whole exchange, and the next registration (anyone's) would wait for it; a slow
    # answer after a repeat would be an oracle again. So: read, send, then store the new link.
    _wait(due)
    try:
        with rt.sessions() as s:
            new = s.get(Registrant, new_id)
            if new is None or new.status != "active" or new.email is None:
                return  # withdrawn or erased in the meantime: nobody to tell
            # The link shown on the page, if it still works (a "Lost your link?" may have replaced it).
            new_url = _url(rt, new_token) if new.management_token_hash == registration.token_digest(new_token) else None
            new_reference, new_email, cameras = new.reference, new.email, _cameras(s, new_id)
            earlier = s.get(Registrant, repeat_of) if repeat_of is not None else None
            if earlier is not None and (
                earlier.status != "active"
                or earlier.email != new_email
                or registration.link_resent_recently(s, earlier, RESEND_COOLDOWN)
            ):
                earlier = None
            if earlier is not None:
                earlier_id, reference, old_digest = earlier.id, earlier.reference, earlier.management_token_hash
        if earlier is None:
            if new_url is not None:
                subject, body = registered_message(new_reference, cameras, new_url, rt.brand.force_name)
                _send(rt, new_email, subject, body, f"registration {new_reference}'s link")
            return
        token = registration.fresh_token()
        subject, body = repeat_registration_message(
            reference, new_reference, _url(rt, token), rt.brand.force_name, new_url=new_url
        )
        if _send(rt, new_email, subject, body, f"registration {reference}'s owner about a repeat"):
            _store_links(rt, {earlier_id: (token, old_digest)}, via=None)
    except Exception:  # a background job has nobody to raise to; say so in the log, never silently
        log.exception("emailing the owner of a registration failed")


def _send_lost_links(rt, email: str, postcode: str, due: float) -> None:
    _wait(due)
    try:
        with rt.sessions() as s:
            found = registration.registrations_at(s, email, postcode)
            if not found:
                return  # nobody to tell; the page said the same as when there is
            links, fresh = [], {}
            for owner in found:
                token = registration.fresh_token()
                fresh[owner.id] = (token, owner.management_token_hash)
                links.append(
                    LinkFor(
                        owner.reference, owner.created_at.astimezone(UK).date(), _cameras(s, owner.id), _url(rt, token)
                    )
                )
        subject, body = lost_link_message(links, postcode, rt.brand.force_name)
        if _send(rt, email, subject, body, f"{len(links)} registration(s)' owner a lost link"):
            _store_links(rt, fresh, via="lost_link")
    except Exception:  # a background job has nobody to raise to; say so in the log, never silently
        log.exception("emailing a lost link failed")


def _cameras(s, registrant_id: int) -> int:
    return (
        s.scalar(
            sa.select(sa.func.count())
            .select_from(Camera)
            .join(Site, Site.id == Camera.site_id)
            .where(Site.registrant_id == registrant_id, Camera.active == sa.true())
        )
        or 0
    )


def _send(rt, to: str, subject: str, body: str, what: str) -> bool:
    try:
        send(rt.settings.smtp_url, rt.settings.mail_from, to, subject, body)
        return True
    except MailError as exc:  # the owner keeps the link they have
        log.warning("could not email %s: %s", what, exc)
        return False


def _store_links(rt, fresh: dict[int, tuple[str, str | None]], *, via: str | None) -> None:
    """Once the relay has the mail: each registration's new link replaces its old one (logged)."""
    with transaction(rt.sessions) as s:
        for registrant_id, (token, old_digest) in fresh.items():
            owner = s.get(Registrant, registrant_id)
            # Only if nothing changed meanwhile (withdrawn, or its link replaced): else the mailed link stays dead.
            if owner is not None and owner.status == "active" and owner.management_token_hash == old_digest:
                registration.new_management_token(s, owner, token=token, via=via)
