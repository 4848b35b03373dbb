"""A very small WSGI router: just enough for the portal's JSON API."""

import json
import re
from http import cookies
from urllib.parse import parse_qs

_ROUTES = []


class Request:
    def __init__(self, environ):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.path = environ.get("PATH_INFO", "/")
        self.args = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        self.cookies = cookies.SimpleCookie(environ.get("HTTP_COOKIE", ""))
        self.params = {}
        self.user = None

    def form(self):
        length = int(self.environ.get("CONTENT_LENGTH") or 0)
        body = self.environ["wsgi.input"].read(length).decode("utf-8")
        return {k: v[0] for k, v in parse_qs(body).items()}


class Response:
    def __init__(self, body=b"", status="200 OK", headers=None):
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.status = status
        self.headers = list(headers or [])


def json_response(data, status="200 OK"):
    return Response(json.dumps(data), status, [("Content-Type", "application/json")])


def redirect(location):
    return Response(b"", "302 Found", [("Location", location)])


def route(method, pattern):
    regex = re.compile("^" + re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", pattern) + "$")

    def decorator(handler):
        _ROUTES.append((method, regex, handler))
        return handler

    return decorator


def application(environ, start_response):
    request = Request(environ)
    for method, regex, handler in _ROUTES:
        match = regex.match(request.path)
        if match and method == request.method:
            request.params = match.groupdict()
            response = handler(request)
            break
    else:
        response = json_response({"error": "not found"}, "404 Not Found")
    start_response(response.status, response.headers)
    return [response.body]
