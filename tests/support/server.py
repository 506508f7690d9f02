"""Serves an ASGI app on a free 127.0.0.1 port in a background thread, like a real deployment
(the same helper that runs the demo's in-process simulator)."""

from kling_gateway.cli.serve import serve_in_thread as serve

__all__ = ["serve"]
