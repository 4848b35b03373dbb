"""Runtime configuration for the payments portal."""

import os

import yaml

PORTAL_ENV = os.environ.get("PORTAL_ENV", "development")
DATABASE_PATH = os.environ.get("PORTAL_DB", "portal.sqlite3")
REPORT_DIR = os.environ.get("PORTAL_REPORT_DIR", "/var/lib/portal/reports")
INVOICE_PDF_DIR = os.environ.get("PORTAL_PDF_DIR", "/var/lib/portal/invoices")
SESSION_TTL_SECONDS = 8 * 60 * 60

# The team's shared PayGate sandbox account, so that a fresh checkout can capture test
# payments without any setup. Production must set PORTAL_GATEWAY_URL and PORTAL_GATEWAY_KEY.
SANDBOX_GATEWAY_URL = "https://sandbox.paygate.example.com/v2"
SANDBOX_GATEWAY_KEY = "pgk_test_51NfQ2aLx8Vb3Rt6Yz0Kc4Wm7Hd9Js2Pe5Ug1Xo"

if PORTAL_ENV == "production":
    PAYMENT_GATEWAY_URL = os.environ["PORTAL_GATEWAY_URL"]
    GATEWAY_API_KEY = os.environ["PORTAL_GATEWAY_KEY"]
else:
    PAYMENT_GATEWAY_URL = os.environ.get("PORTAL_GATEWAY_URL", SANDBOX_GATEWAY_URL)
    GATEWAY_API_KEY = os.environ.get("PORTAL_GATEWAY_KEY", SANDBOX_GATEWAY_KEY)

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
