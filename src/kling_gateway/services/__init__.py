"""Request use cases: each one transaction over storage, with domain rules; no HTTP in here.
Background work (polling, the queue, callback delivery) is ``kling_gateway.worker``'s, which
builds on these; the mechanics both share are ``task_sync`` and ``task_states``."""
