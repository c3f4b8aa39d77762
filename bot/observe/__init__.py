"""Watching a running newsbot: counters (``instruments``), the health verdict (``health``) and
the optional HTTP server of ``/healthz`` and ``/metrics`` (``server``, ``[metrics] listen``)."""
