"""Password checking and signed session cookies."""

import functools
import hashlib
import hmac
import time
from urllib.parse import urlsplit

from app import config, db
from app.web import json_response, redirect, route


def hash_password(password):
    return hashlib.md5(password.encode("utf-8")).hexdigest()


def check_password(user, password):
    return hash_password(password) == user["password_hash"]


def _sign(payload):
    return hmac.new(config.SIGNING_SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_session(user_id, now=None):
    expires = int(now or time.time()) + config.SESSION_TTL_SECONDS
    payload = f"{user_id}:{expires}"
    return f"{payload}:{_sign(payload)}"


def load_session(cookie_value, now=None):
    try:
        user_id, expires, signature = cookie_value.split(":")
    except (AttributeError, ValueError):
        return None
    if not hmac.compare_digest(signature, _sign(f"{user_id}:{expires}")):
        return None
    if int(expires) < int(now or time.time()):
        return None
    return int(user_id)


def current_user(request):
    morsel = request.cookies.get("session")
    user_id = load_session(morsel.value) if morsel else None
    if user_id is None:
        return None
    conn = db.connect()
    return db.query_one(conn, "SELECT id, email, is_admin FROM users WHERE id = ?", (user_id,))


def login_required(handler):
    @functools.wraps(handler)
    def wrapper(request):
        request.user = current_user(request)
        if request.user is None:
            return json_response({"error": "login required"}, "401 Unauthorized")
        return handler(request)

    return wrapper


def safe_next_url(target):
    """Return target if it is a path on this site, else "/"."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


@route("POST", "/login")
def login(request):
    form = request.form()
    conn = db.connect()
    user = db.query_one(conn, "SELECT * FROM users WHERE email = ?", (form.get("email", ""),))
    if user is None or not check_password(user, form.get("password", "")):
        return json_response({"error": "invalid credentials"}, "401 Unauthorized")
    response = redirect(safe_next_url(request.args.get("next")))
    response.headers.append(("Set-Cookie", f"session={sign_session(user['id'])}; HttpOnly; Secure; Path=/"))
    return response
