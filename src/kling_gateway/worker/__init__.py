"""Background work: tasks finish on their own and clients hear about it.

``loop``: the worker (``kling-gateway worker``, or a thread of ``serve``) runs three loops:
``syncer`` (polls: ``poller``, ``lists``, ``reconcile``, ``deadlines``; channel re-checks:
``channel_checks``), the queue (``queue``) and client callbacks (``callbacks``, ``webhooks``).
Its timings are in ``policy``; ``pace`` spreads requests per channel.
"""
