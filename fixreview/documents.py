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


def load_json(data: bytes, source: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise InputError(f"{source}: not valid JSON: nested too deeply") from None


def load_toml(data: bytes, source: str) -> dict[str, Any]:
    try:
        return tomli.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text") from None
    except tomli.TOMLDecodeError as exc:
        raise InputError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{source}: invalid TOML: nested too deeply") from None


def as_object(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""
