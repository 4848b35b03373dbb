"""Reading untrusted input documents (JSON, TOML) with one clear error line naming the source.

Importers, the policy and finding files all read bytes someone else wrote; each failure here
is an :class:`~fixreview.errors.InputError` that says which file and what is wrong, never a
traceback. The JSON accessors return an empty value of the expected type when a field is missing
or of another type, so optional fields never raise.
"""

from __future__ import annotations

import json
from typing import Any

import tomli

from fixreview.errors import InputError

JsonObject = dict[str, Any]


def parse_json_text(text: str) -> Any:
    """TEXT as JSON; ValueError saying in one line what is wrong: not JSON (with where), nested
    too deeply, or an integer of more digits than Python converts (4,300: a ``ValueError`` that
    is no ``JSONDecodeError``, which anyone who writes the document can cause)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as exc:
        raise ValueError(_without_hint(exc)) from None


def parse_toml_text(text: str) -> dict[str, Any]:
    """TEXT as a TOML table; ValueError saying in one line what is wrong, as
    :func:`parse_json_text`'s."""
    try:
        return tomli.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as exc:  # TOMLDecodeError, and an integer of too many digits
        raise ValueError(_without_hint(exc)) from None


def _without_hint(exc: ValueError) -> str:
    """EXC's message without Python's advice to raise the digits limit (not the reader's to
    follow)."""
    return str(exc).split("; use sys.set_int_max_str_digits()")[0]


def load_json(data: bytes, source: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        return parse_json_text(text)
    except ValueError as exc:
        raise InputError(f"{source}: not valid JSON: {exc}") from None


def load_toml(data: bytes, source: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text") from None
    try:
        return parse_toml_text(text)
    except ValueError as exc:
        raise InputError(f"{source}: invalid TOML: {exc}") from None


def as_object(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""
