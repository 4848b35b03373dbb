"""Liveness/readiness endpoint for the load balancer."""

from app import __version__, db
from app.web import json_response, route


@route("GET", "/healthz")
def healthz(request):
    try:
        db.connect().execute("SELECT 1").fetchone()
    except Exception as exc:  # any database failure means "not ready"
        return json_response({"status": "error", "detail": type(exc).__name__}, "503 Service Unavailable")
    return json_response({"status": "ok", "version": __version__})
