"""Sending letters: messages built with the ``email`` package, an outbox of ``.eml`` files or
SMTP, and the send ledger that keeps a message from going out twice."""
