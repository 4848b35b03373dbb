"""A JUnit XML report read safely into the counts a check record carries.

The report comes from a test run on a fix's code, which the fix's author controls: it is hostile
input. It is read with a size cap, by defusedxml (no DTD, no entity, no external reference: no
"billion laughs", no file read), and only then handed to junitparser, which walks the suites
and cases. The counts are what the cases say *and* what the suites' attributes claim: a report
whose attributes claim a failure its cases do not show still counts that failure, so that no
report that says failures exist can be recorded as passed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast
from xml.etree.ElementTree import Element, ParseError

from pydantic import Field

from fixreview.errors import InputError
from fixreview.models import Strict

if TYPE_CHECKING:
    from junitparser import JUnitXml

MAX_JUNIT_BYTES = 32 * 1024 * 1024
"""The largest report read: a test run's JUnit file is kilobytes to a few megabytes."""


class JunitCounts(Strict):
    """What a JUnit report says of a test run."""

    tests: int = Field(ge=0)
    failures: int = Field(ge=0)
    errors: int = Field(ge=0)
    skipped: int = Field(ge=0)
    duration: float = Field(ge=0, allow_inf_nan=False)  # seconds

    @property
    def failed(self) -> bool:
        """Whether the report says any test failed or erred."""
        return self.failures > 0 or self.errors > 0

    def describe(self) -> str:
        """``12 tests, 0 failures, 0 errors, 1 skipped, 3.2 s``."""
        return (
            f"{self.tests} tests, {self.failures} failures, {self.errors} errors, "
            f"{self.skipped} skipped, {self.duration:g} s"
        )


def read_junit(data: bytes, where: str) -> JunitCounts:
    """The counts of the JUnit report DATA (read from WHERE); InputError in one line when it
    is too large, not XML, uses a DTD or entities, or is not a JUnit report."""
    # imported here: every queue load reads check records (JunitCounts), only record-check a report
    import defusedxml.ElementTree
    from defusedxml import DefusedXmlException
    from junitparser import JUnitXml, JUnitXmlError

    if len(data) > MAX_JUNIT_BYTES:
        raise InputError(
            f"{where}: {len(data)} bytes, more than the {MAX_JUNIT_BYTES} a JUnit report may have"
        )
    try:
        root = defusedxml.ElementTree.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise InputError(f"{where}: refused: {type(exc).__name__} (a DTD or entities)") from None
    except ParseError as exc:
        raise InputError(f"{where}: not XML: {exc}") from None
    try:
        # the suites' claims are read first: junitparser rewrites a suite's attributes from
        # its cases as soon as one of them is missing
        claimed = _claims(root)
        report = JUnitXml.fromroot(cast(Any, root))  # its hint names its own wrapper
        return _counts(report, claimed)
    except (JUnitXmlError, ValueError, TypeError) as exc:
        raise InputError(f"{where}: not a JUnit report: {exc or type(exc).__name__}") from None


_COUNTS = ("tests", "failures", "errors", "skipped")


def _claims(root: Element) -> tuple[dict[str, int], float]:
    """What the attributes of every ``testsuite`` element (nested ones too) claim: the counts,
    and the seconds; ValueError when a count is not one."""
    claimed = dict.fromkeys(_COUNTS, 0)
    seconds = 0.0
    for suite in root.iter("testsuite"):
        for name in _COUNTS:
            value = (suite.get(name) or "").strip()
            if value:
                count = int(value)
                if count < 0:
                    raise ValueError(f"{name}={value!r} is not a count")
                claimed[name] += count
        seconds += _seconds(suite.get("time"))
    return claimed, seconds


def _seconds(value: str | None) -> float:
    """A time attribute in seconds (0 when absent or not a finite, non-negative number)."""
    try:
        number = float((value or "0").replace(",", ""))
    except ValueError:
        return 0.0
    return number if math.isfinite(number) and number >= 0 else 0.0


def _counts(report: JUnitXml, claims: tuple[dict[str, int], float]) -> JunitCounts:
    """What the cases show (junitparser walks them), and at least what the suites claim."""
    from junitparser import Error, Failure, Skipped, TestSuite
    claimed, seconds = claims
    shown = dict.fromkeys(_COUNTS, 0)
    for suite in report:
        if not isinstance(suite, TestSuite):
            continue
        for case in suite:
            results = case.result
            shown["tests"] += 1
            shown["failures"] += any(isinstance(r, Failure) for r in results)
            shown["errors"] += any(isinstance(r, Error) for r in results)
            shown["skipped"] += any(isinstance(r, Skipped) for r in results)
    most = {name: max(shown[name], claimed[name]) for name in _COUNTS}
    return JunitCounts(**most, duration=round(seconds, 3))


__all__ = ["MAX_JUNIT_BYTES", "JunitCounts", "read_junit"]
