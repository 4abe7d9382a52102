"""The same email address registering the same postcode again: tell the earlier registration's owner.

Whoever sends the form is answered exactly as for a first registration (issue 15, item 5): anyone
can type someone's email address and postcode, and a different answer would confirm that this
person has cameras at that address. The new registration is kept (nothing sent is lost) and the
owner on file is emailed a fresh private link for the earlier one, naming the new one, at most once
per ``RESEND_COOLDOWN`` (an inbox cannot be flooded); once the relay has taken the mail, the old
link stops working. If the relay fails, the old link is kept and nothing is recorded.

The mail goes from one background worker a few seconds after the answer has been sent, so a repeat
costs the request no more time than a first registration: the answer's timing tells nothing either. Without
a mail relay (``SMTP_URL``) nothing is sent.
"""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import random
import threading
import time

from dashboard.mail import MailError, repeat_registration_message, send
from dashboard.registry import registration
from dashboard.registry.database import transaction
from dashboard.registry.models import Registrant

RESEND_COOLDOWN = dt.timedelta(minutes=10)
# Seconds after the answer that the mail is sent, drawn afresh each time: the worker's own work
# (database, relay) then falls on whatever requests are being served by then, anyone's, never
# on the repeat's own answer or the one right after it.
MAIL_DELAY_S = (1.0, 4.0)
log = logging.getLogger(__name__)
_worker: concurrent.futures.ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="owner-mail")
        return _worker


def after_registering(rt, done: registration.Registered) -> None:
    """Called for every registration alike, after its transaction: a repeat queues the owner's mail."""
    if done.repeat_of is not None and rt.settings.smtp_url is not None:
        due = time.monotonic() + random.uniform(*MAIL_DELAY_S)
        _pool().submit(_tell_owner, rt, done.repeat_of, done.reference, due)


def drain(timeout_s: float = 60.0) -> None:
    """Wait until every mail queued so far has been handled (tests; an orderly shutdown)."""
    _pool().submit(lambda: None).result(timeout=timeout_s)


def _tell_owner(rt, earlier_id: int, new_reference: str, due: float) -> None:
    # No transaction stays open while the relay is talked to: on SQLite that would hold the write
    # lock for the whole exchange, and the next registration (anyone's) would wait for it; a slow
    # answer after a repeat would be an oracle again. So: read, send, then store the new link.
    time.sleep(max(0.0, due - time.monotonic()))  # due times only grow, so waits never add up
    try:
        with rt.sessions() as s:
            earlier = s.get(Registrant, earlier_id)
            if earlier is None or earlier.status != "active" or earlier.email is None:
                return  # withdrawn or erased in the meantime: nobody to tell
            if registration.link_resent_recently(s, earlier, RESEND_COOLDOWN):
                return
            reference, email, old_digest = earlier.reference, earlier.email, earlier.management_token_hash
        token = registration.fresh_token()
        subject, body = repeat_registration_message(
            reference, new_reference, f"{rt.settings.public_base_url}/manage/{token}", rt.reference.force_name)
        try:
            send(rt.settings.smtp_url, rt.settings.mail_from, email, subject, body)
        except MailError as exc:  # the owner keeps the link they have
            log.warning("could not email registration %s's owner about a repeat: %s", reference, exc)
            return
        with transaction(rt.sessions) as s:
            earlier = s.get(Registrant, earlier_id)
            # Only if nothing changed meanwhile (withdrawn, or its link replaced): else the mailed link stays dead.
            if earlier is not None and earlier.status == "active" and earlier.management_token_hash == old_digest:
                registration.new_management_token(s, earlier, token=token)
    except Exception:  # a background job has nobody to raise to; say so in the log, never silently
        log.exception("emailing the owner of an earlier registration failed")
