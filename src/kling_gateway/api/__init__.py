"""Thin HTTP handlers of the gateway: one package per spec, one module per spec tag, one function
per ``operationId``. Each turns its keyword arguments into one service call and answers the
envelope; no storage or HTTP-client code lives here."""
