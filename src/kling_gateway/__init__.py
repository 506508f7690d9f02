"""kling-gateway: a multi-tenant gateway that speaks the official Kling AI HTTP API."""

__version__ = "0.1.0"
