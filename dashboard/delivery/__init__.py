"""Messages to owners: the words (messages), email (smtp), text messages (notify), the persistent
outbox (outbox) and its senders (worker). No Dash imports."""
