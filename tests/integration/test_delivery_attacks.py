"""Attacks on issue 16's outbox: an owner's withdrawal racing a message being sent.

BREAK (the outbox's own rule, "an owner who withdraws in the meantime gets nothing", and promise 6):
``Sender._prepare`` reads the owner's address and checks they are still on the register; the message's
whole body then goes to the relay, and ``_hand_over`` commits 'handed_over' (and a fresh link) before
the terminator without checking the owner again. An owner who withdraws while the body is on its way
(a slow relay: seconds) still gets the request, with a working link made after their withdrawal,
and it is recorded as sent to an erased registration.
"""

from __future__ import annotations

import sqlalchemy as sa

from dashboard.delivery import outbox
from dashboard.registry import registration
from dashboard.registry.database import session_factory, transaction
from dashboard.registry.models import FootageResponse, Registrant
from tests.integration.test_casework import DOORBELL_30D
from tests.integration.test_delivery import (  # noqa: F401  (fixtures: relay, seeded)
    _messages,
    _request,
    _sender,
    _settings,
    relay,
    seeded,
)


def test_an_owner_who_withdraws_while_the_message_is_being_sent_gets_nothing(seeded, relay, reference_dir, monkeypatch):
    box, url = relay
    _request(seeded, camera_ids=[DOORBELL_30D])
    real_hand_over = outbox.Sender._hand_over

    def withdraw_first(self, taken, prepared, new_state):
        # The owner presses "Withdraw" on their own page while the body is being sent to the relay.
        with transaction(session_factory(seeded)) as s:
            owner_id = s.get(FootageResponse, prepared.response_id).registrant_id
            registration.withdraw(s, s.get(Registrant, owner_id), via="manage")
        return real_hand_over(self, taken, prepared, new_state)

    monkeypatch.setattr(outbox.Sender, "_hand_over", withdraw_first)
    _sender(seeded, _settings(reference_dir, SMTP_URL=url)).run_once()
    with session_factory(seeded)() as s:
        assert s.scalar(sa.select(Registrant.status).where(Registrant.id == 1)) == "withdrawn"
        link = s.execute(sa.select(FootageResponse.token_hash)).scalar_one()
    states = [m.state for m in _messages(seeded)]
    assert box.messages == [], f"a withdrawn owner was emailed (message {states}, link issued: {link is not None})"
    assert states == ["cancelled"]
