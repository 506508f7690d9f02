"""The simulator's handlers: one module per spec tag, one function per operationId."""
