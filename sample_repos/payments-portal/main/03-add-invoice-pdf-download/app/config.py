"""Runtime configuration for the payments portal."""

import os

import yaml

DATABASE_PATH = os.environ.get("PORTAL_DB", "portal.sqlite3")
REPORT_DIR = os.environ.get("PORTAL_REPORT_DIR", "/var/lib/portal/reports")
INVOICE_PDF_DIR = os.environ.get("PORTAL_PDF_DIR", "/var/lib/portal/invoices")
SESSION_TTL_SECONDS = 8 * 60 * 60
PAYMENT_GATEWAY_URL = os.environ.get("PORTAL_GATEWAY_URL", "https://sandbox.paygate.example.com/v2")
GATEWAY_API_KEY = os.environ.get("PORTAL_GATEWAY_KEY", "")

# Shared secret for signing session cookies and gateway webhook callbacks.
SIGNING_SECRET = "9f2c7e41b8d05a63e1f4c8b27d90a5e6c3b1f8d4a7e2c905"


def load_overrides(path=None):
    """Read optional deployment overrides from portal.yaml."""
    path = path or os.environ.get("PORTAL_SETTINGS", "portal.yaml")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=yaml.FullLoader) or {}


FEATURES = load_overrides().get("features", {})
