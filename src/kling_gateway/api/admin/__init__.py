"""Handlers of ``openapi/admin.yaml``, mounted at ``/admin/v1``.

Each ``operationId`` resolves relative to this package (``users.create_user`` is
``kling_gateway.api.admin.users.create_user``). Connexion has validated every argument against
the spec before a handler runs.
"""
