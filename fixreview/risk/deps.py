"""Dependency manifests and lockfiles: which packages a fix adds, removes, bumps or loosens.

Each changed manifest or lockfile is read whole at the merge-base and at the head (by
:func:`fixreview.risk.tree.tree_facts`, before the checks run) and parsed on each side into
the packages it declares, ``{package: [specs]}``; the change set is the difference of the two.
A line is never judged by the hunk it is in: which table it belongs to is known from the whole
file.

- TOML files (``pyproject.toml``, ``Pipfile``, ``Cargo.toml``, ``libs.versions.toml``,
  ``poetry.lock``, ``uv.lock``, ``pdm.lock``, ``Cargo.lock``) are parsed with :mod:`tomli`,
  JSON files (``package.json``, ``package-lock.json``, ``npm-shrinkwrap.json``,
  ``Pipfile.lock``) with :mod:`json`; only the tables that declare dependencies are read.
- Formats with no parser in the standard library (``requirements.txt``, ``setup.py``,
  ``go.mod``, ``Gemfile``, ``yarn.lock``, ``pom.xml``, Gradle files…) are read line by line,
  but over the whole file, so a section opened above a change is known; each line is cut to
  :data:`~fixreview.risk.bounds.MAX_LINE` characters.
- A file that is not valid TOML or JSON (an attacker writes what they like) raises
  :class:`ManifestError`, which the check reports as the file changed, not parsed.

Python requirements are PEP 508 strings (:class:`packaging.requirements.Requirement`) and their
specifiers and versions are compared as PEP 440 says (:mod:`packaging`): ``4.2.0rc1 → 4.2.0``
is a bump, ``pkg>=1.7 → pkg`` and ``==1.2 → >=1.2`` are *loosened* (they permit more
versions). Other ecosystems' versions are compared with :mod:`packaging` where both parse as
PEP 440 versions, and else on their numbers. A *major* jump is a change of the first number,
or of the second one for ``0.x`` versions (semver's rule for pre-1.0 releases).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from fixreview.documents import parse_json_text, parse_toml_text
from fixreview.repo.diffs import FileDiff
from fixreview.risk.bounds import cut
from fixreview.risk.paths import normalize

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

# packaging is imported where it is used, not here: most fixes change no dependency file, and
# importing it is 20-50 ms of a `verify` that needs none of it (docs/performance.md)

ChangeKind = Literal["added", "removed", "bumped", "downgraded", "loosened", "changed"]
Entry = tuple[str, str]  # (name, version spec as written)

_VERSION_NUMBER = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+)*)")
_VERSION_TEXT = re.compile(
    r"(?<![\w.])v?(\d+(?:\.\d+)*(?:[-.+]?[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*)?)"
)
_PEP508 = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")
_SPEC_START = ("=", "<", ">", "!", "~", "@", "(")
PEP440_ECOSYSTEMS = frozenset({"pip", "pipenv"})
"""Ecosystems whose specifiers are PEP 440's (Poetry's ``^1.2`` is not; it falls back)."""
_ANY = frozenset({"", "*", "x", "latest"})
_EXACT = re.compile(r"^(?:==?)?\s*v?\d[\w.\-+]*$")
_RANGE_START = ("^", "~", ">", "~>")


class ManifestError(ValueError):
    """A manifest or lockfile that cannot be read as its format (bad TOML or JSON)."""


# -- versions ----------------------------------------------------------------------------------


def version_numbers(spec: str) -> tuple[int, ...] | None:
    """The first version number in SPEC as a tuple of ints (``>=2.31,<3`` → (2, 31))."""
    match = _VERSION_NUMBER.search(spec)
    if match is None:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def major_of(version: tuple[int, ...]) -> tuple[int, ...]:
    """Semver's breaking-change component: the first number, or the second for 0.x."""
    if version[0] == 0 and len(version) > 1:
        return (0, version[1])
    return (version[0],)


def _pad(version: tuple[int, ...], size: int) -> tuple[int, ...]:
    return version + (0,) * (size - len(version))


@dataclass(frozen=True)
class DependencyChange:
    """One package whose declared or locked version a file of the diff changes."""

    path: str
    ecosystem: str
    key: str
    name: str
    kind: ChangeKind
    old: str | None
    new: str | None
    line: int | None
    major: bool

    def jump(self) -> str | None:
        """``20 → 23`` for a major version change, else None."""
        old, new = version_numbers(self.old or ""), version_numbers(self.new or "")
        if not self.major or old is None or new is None:
            return None
        return f"{_major_text(old)} \u2192 {_major_text(new)}"

    def describe(self) -> str:
        if self.kind == "added":
            return f"{self.name} {show_spec(self.new)} added".replace("  ", " ")
        if self.kind == "removed":
            return f"{self.name} {show_spec(self.old)} removed".replace("  ", " ")
        old_spec, new_spec = show_spec(self.old) or "(any)", show_spec(self.new) or "(any)"
        text = f"{self.name} {old_spec} \u2192 {new_spec}"
        jump = self.jump()
        if jump:
            direction = "downgrade" if self.kind == "downgraded" else "jump"
            return f"{text} (MAJOR version {direction} {jump})"
        if self.kind == "downgraded":
            return f"{text} (downgrade)"
        if self.kind == "loosened":
            return f"{text} (loosened)"
        return text


def _major_text(version: tuple[int, ...]) -> str:
    return ".".join(str(n) for n in major_of(version)) + (".x" if version[0] == 0 else "")


def show_spec(spec: str | None) -> str:
    if not spec:
        return ""
    spec = spec.strip()
    return spec[2:].strip() if spec.startswith("==") and not spec.startswith("===") else spec


# PEP 440: a specifier set as an interval of versions ----------------------------------------

Bound: TypeAlias = "tuple[Version, bool] | None"  # (version, inclusive); None: unbounded


@dataclass(frozen=True)
class _Interval:
    low: Bound
    high: Bound
    excluded: frozenset[str]


def _specifiers(spec: str) -> SpecifierSet | None:
    """SPEC as a PEP 440 specifier set: a bare version is ``==`` it; None when it is neither."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    text = spec.strip()
    try:
        return SpecifierSet(f"=={Version(text)}") if text else SpecifierSet()
    except InvalidVersion:
        pass
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def _next_prefix(release: tuple[int, ...]) -> Version:
    """The first version after every one starting with RELEASE (``1.4`` → ``1.5``)."""
    from packaging.version import Version

    return Version(".".join(str(n) for n in (*release[:-1], release[-1] + 1)))


def _interval(specifiers: SpecifierSet) -> _Interval | None:
    """The versions SPECIFIERS permit, as [low, high] minus exclusions; None when unknown."""
    from packaging.version import InvalidVersion, Version

    low: Bound = None
    high: Bound = None
    excluded: set[str] = set()

    def raise_low(bound: tuple[Version, bool]) -> None:
        nonlocal low
        if low is None or bound[0] > low[0] or (bound[0] == low[0] and not bound[1]):
            low = bound

    def lower_high(bound: tuple[Version, bool]) -> None:
        nonlocal high
        if high is None or bound[0] < high[0] or (bound[0] == high[0] and not bound[1]):
            high = bound

    try:
        for item in specifiers:
            op, text = item.operator, item.version
            if op == "!=":
                excluded.add(text)
            elif op == "==" and text.endswith(".*"):
                base = Version(text[:-2])
                raise_low((base, True))
                lower_high((_next_prefix(base.release), False))
            elif op == "==":
                raise_low((Version(text), True))
                lower_high((Version(text), True))
            elif op in (">=", ">"):
                raise_low((Version(text), op == ">="))
            elif op in ("<=", "<"):
                lower_high((Version(text), op == "<="))
            elif op == "~=":
                version = Version(text)
                raise_low((version, True))
                lower_high((_next_prefix(version.release[:-1]), False))
            else:  # === compares strings
                return None
    except (InvalidVersion, IndexError):
        return None
    return _Interval(low, high, frozenset(excluded))


def _low_covers(a: Bound, b: Bound) -> bool:
    """Whether lower bound A permits every version lower bound B permits."""
    if a is None:
        return True
    if b is None:
        return False
    return a[0] < b[0] or (a[0] == b[0] and (a[1] or not b[1]))


def _high_covers(a: Bound, b: Bound) -> bool:
    if a is None:
        return True
    if b is None:
        return False
    return a[0] > b[0] or (a[0] == b[0] and (a[1] or not b[1]))


def _covers(a: _Interval, b: _Interval) -> bool:
    """Whether A permits every version B does."""
    return _low_covers(a.low, b.low) and _high_covers(a.high, b.high) and a.excluded <= b.excluded


def _compare_pep440(old: str, new: str) -> tuple[ChangeKind, bool] | None:
    a, b = _specifiers(old), _specifiers(new)
    if a is None or b is None:
        return None
    before, after = _interval(a), _interval(b)
    if before is None or after is None:
        return None
    if _covers(after, before) and not _covers(before, after):
        return "loosened", False
    if before.low is not None and after.low is not None and before.low[0] != after.low[0]:
        old_v, new_v = before.low[0], after.low[0]
        kind: ChangeKind = "bumped" if new_v > old_v else "downgraded"
        major = major_of(_pad(old_v.release, 2)) != major_of(_pad(new_v.release, 2))
        return kind, major
    return "changed", False


def _version(spec: str) -> Version | None:
    """The first version written in SPEC, when PEP 440 can read it (``4.2.0-rc.1`` can)."""
    from packaging.version import InvalidVersion, Version

    match = _VERSION_TEXT.search(spec)
    if match is None:
        return None
    try:
        return Version(match.group(1))
    except InvalidVersion:
        return None


def compare(old: str, new: str, ecosystem: str = "") -> tuple[ChangeKind, bool]:
    """How a version spec changed: bumped, downgraded, loosened or (else) changed; and major."""
    if ecosystem in PEP440_ECOSYSTEMS:
        judged = _compare_pep440(old, new)
        if judged is not None:
            return judged
    if new.strip().lower() in _ANY and old.strip().lower() not in _ANY:
        return "loosened", False
    a, b = version_numbers(old), version_numbers(new)
    if a is None or b is None:
        return "changed", False
    size = max(len(a), len(b))
    if _pad(a, size) == _pad(b, size):
        if _EXACT.match(old.strip()) and new.strip().startswith(_RANGE_START):
            return "loosened", False  # 1.2.3 → ^1.2.3
        va, vb = _version(old), _version(new)
        if va is not None and vb is not None and va != vb:
            return ("bumped" if vb > va else "downgraded"), False  # 4.2.0-rc.1 → 4.2.0
        return "changed", False
    kind: ChangeKind = "bumped" if _pad(b, size) > _pad(a, size) else "downgraded"
    return kind, major_of(_pad(a, 2)) != major_of(_pad(b, 2))


def _same(spec: str, ecosystem: str) -> str:
    """SPEC written one way for all specs that mean the same (``>=1, <2`` and ``<2,>=1``)."""
    if ecosystem in PEP440_ECOSYSTEMS:
        specifiers = _specifiers(spec)
        if specifiers is not None:
            return ",".join(sorted(str(s) for s in specifiers))
    return re.sub(r"\s+", "", spec)


# -- what one file declares ----------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    """One package a file declares: its name as written, the spec, and where it is.

    LINE is known for line-based formats; for parsed ones, ANCHOR is the text that names the
    entry in the file (``node_modules/lodash``), looked up afterwards."""

    name: str
    spec: str
    line: int | None = None
    anchor: str | None = None


def pep508(text: str, *, need_spec: bool) -> Entry | None:
    """(name, spec) of a PEP 508 requirement string, or None when it is not one."""
    text = text.split(";", 1)[0].strip()
    match = _PEP508.match(text)
    if match is None:
        return None
    name, rest = match.group(1), match.group(3).strip()
    if rest and not rest.startswith(_SPEC_START):
        return None
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1].strip()
    if need_spec and not rest:
        return None
    return name, rest


def requirement(text: str) -> Entry | None:
    """(name, spec as written) of a PEP 508 string; None when :mod:`packaging` refuses it."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        parsed = Requirement(text)
    except InvalidRequirement:
        return None
    entry = pep508(text, need_spec=False)
    if entry is not None:
        return parsed.name, entry[1]
    return parsed.name, (f"@ {parsed.url}" if parsed.url else str(parsed.specifier))


def _python_key(name: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


class Parser:
    """Reads a file line by line, from its start; returns what each line declares."""

    ecosystem = ""

    def key(self, name: str) -> str:
        return name.lower()

    def feed(self, text: str) -> list[Entry]:
        raise NotImplementedError


class Requirements(Parser):
    ecosystem = "pip"

    def key(self, name: str) -> str:
        return _python_key(name)

    def feed(self, text: str) -> list[Entry]:
        text = re.sub(r"(^|\s)#.*$", "", text).rstrip("\\").strip()
        if not text or text.startswith("-"):
            return []
        egg = re.search(r"#egg=([A-Za-z0-9._-]+)", text)
        if "://" in text and " @ " not in text:
            return [(egg.group(1), text)] if egg else []
        entry = pep508(text, need_spec=False)
        return [entry] if entry else []


_SETTING = re.compile(r"^\s*[\w.\-]+\s*=(?!=)\s*(.*)$")


class SetupPy(Requirements):
    """setup.py / setup.cfg: requirement strings, quoted or on their own indented line."""

    def feed(self, text: str) -> list[Entry]:
        quoted = re.findall(r"""["']([^"']+)["']""", text)
        if not quoted:
            setting = _SETTING.match(text)  # setup.cfg: ``install_requires = requests>=2``
            quoted = [setting.group(1) if setting else text.strip()]
        out = []
        for value in quoted:
            entry = pep508(value, need_spec=True)
            if entry:
                out.append(entry)
        return out


_QUOTED = re.compile(r""""([^"]*)"|'([^']*)'""")
_VERSIONISH = re.compile(r"^\s*(\^|~>?|[<>]=?|==?|!=|\*|v?\d)")


class LockBlocks(Parser):
    """Files made of entries whose name comes a line or two before their version."""

    def __init__(
        self,
        ecosystem: str,
        name: re.Pattern[str],
        version: re.Pattern[str],
        reset: re.Pattern[str] | None = None,
        key: Callable[[str], str] = str.lower,
    ) -> None:
        self.ecosystem = ecosystem
        self._name, self._version, self._reset, self._key = name, version, reset, key
        self.current: str | None = None

    def key(self, name: str) -> str:
        return self._key(name)

    def feed(self, text: str) -> list[Entry]:
        if self._reset is not None and self._reset.match(text):
            self.current = None
            return []
        named = self._name.match(text)
        if named:
            self.current = next((g for g in reversed(named.groups()) if g), None)
            return []
        version = self._version.match(text)
        if version and self.current:
            return [(self.current, version.group(1))]
        return []


class Regex(Parser):
    """One declaration per line, found by a pattern with (name, version) groups."""

    def __init__(
        self, ecosystem: str, pattern: re.Pattern[str], key: Callable[[str], str] = str.lower
    ) -> None:
        self.ecosystem = ecosystem
        self._pattern, self._key = pattern, key

    def key(self, name: str) -> str:
        return self._key(name)

    def feed(self, text: str) -> list[Entry]:
        return [(m.group(1), m.group(2) or "") for m in self._pattern.finditer(text)]


class GoMod(Parser):
    """``require`` lines and blocks; ``exclude``, ``replace`` and ``retract`` blocks are not."""

    ecosystem = "go"

    def __init__(self) -> None:
        self.block: str | None = None

    def key(self, name: str) -> str:
        return re.sub(r"/v\d+$", "", name)  # example.com/m/v2 is m's next major version

    def feed(self, text: str) -> list[Entry]:
        text = text.split("//", 1)[0].strip()
        opened = re.match(r"^(\w+)\s*\($", text)
        if opened:
            self.block = opened.group(1)
            return []
        if text == ")":
            self.block = None
            return []
        if self.block is not None and self.block != "require":
            return []
        if self.block is None:
            if not text.startswith("require "):
                return []
            text = text.removeprefix("require ").strip()
        parts = text.split()
        if len(parts) == 2 and re.match(r"^v\d", parts[1]):
            return [(parts[0], parts[1])]
        return []


class Gem(Parser):
    ecosystem = "bundler"

    def feed(self, text: str) -> list[Entry]:
        match = re.match(
            r"""^\s*(?:gem|\w+\.add_(?:runtime_|development_)?dependency)\s*\(?\s*["']([^"']+)["']"""
            r"""\s*(.*)$""",
            text,
        )
        if match is None:
            return []
        versions = [a or b for a, b in _QUOTED.findall(match.group(2))]
        versions = [v for v in versions if _VERSIONISH.match(v)]
        return [(match.group(1), ", ".join(versions))]


def _gradle() -> Parser:
    return Regex("gradle", re.compile(r"""["']([\w.\-]+:[\w.\-]+):([^"'@:$]+)(?:@\w+)?["']"""))


_LINE_FORMATS: dict[str, Callable[[], Parser]] = {
    "setup.py": SetupPy,
    "setup.cfg": SetupPy,
    "yarn.lock": lambda: LockBlocks(
        "npm",
        re.compile(r'^"?(@?[^@\s"]+)@'),
        re.compile(r'^\s+version:?\s+"?([^"\s]+)"?\s*$'),
    ),
    "go.mod": GoMod,
    "go.sum": lambda: Regex("go", re.compile(r"^(\S+)\s+(v[^\s/]+)(?:/go\.mod)?\s+h1:")),
    "gemfile": Gem,
    "gemfile.lock": lambda: Regex(
        "bundler", re.compile(r"^    ([A-Za-z0-9_.\-]+) \(([^)]+)\)\s*$")
    ),
    "pom.xml": lambda: LockBlocks(
        "maven",
        re.compile(r"^\s*<artifactId>([^<]+)</artifactId>"),
        re.compile(r"^\s*<version>([^<]+)</version>"),
        re.compile(r"^\s*</?dependency>"),
    ),
    "build.gradle": _gradle,
    "build.gradle.kts": _gradle,
    "gradle.lockfile": lambda: Regex("gradle", re.compile(r"^([\w.\-]+:[\w.\-]+):([^=\s]+)=")),
}


def _by_lines(factory: Callable[[], Parser]) -> Reader:
    def read(text: str) -> tuple[str, list[tuple[str, Declared]]]:
        parser = factory()
        out = []
        for number, line in enumerate(text.splitlines(), 1):
            for name, spec in parser.feed(cut(line)):  # bounded: no parser reads more of a line
                out.append((parser.key(name), Declared(name, spec.strip(), number)))
        return parser.ecosystem, out

    return read


# -- parsed formats ------------------------------------------------------------------------------

Reader = Callable[[str], tuple[str, list[tuple[str, Declared]]]]
Found = Iterator[tuple[str, Declared]]


def _table(value: object, key: str) -> dict[str, object]:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}


def _tables(value: object) -> Iterable[dict[str, object]]:
    return (v for v in (value.values() if isinstance(value, dict) else ()) if isinstance(v, dict))


def _string(value: object, key: str) -> str | None:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def _requirements(value: object) -> Found:
    """The PEP 508 strings of a list (other items are skipped)."""
    for item in value if isinstance(value, list) else ():
        if isinstance(item, str):
            entry = requirement(item) or pep508(item, need_spec=False)
            if entry is not None:
                yield _python_key(entry[0]), Declared(entry[0], entry[1])


def _spec_of(value: object) -> str | None:
    """A Poetry, Pipenv or Cargo dependency's spec: a string, or a table's version (or its
    source: ``git URL``, ``tag v1``, ``path ../x``); a list of tables joins their versions."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        specs = [spec for spec in map(_spec_of, value) if spec]
        return ", ".join(specs) if specs else None
    if not isinstance(value, dict):
        return None
    version = _string(value, "version")
    if version is not None:
        return version
    for key in ("tag", "rev", "branch", "path", "git", "url", "file"):
        other = _string(value, key)
        if other is not None:
            return f"{key} {other}"
    return "workspace" if value.get("workspace") is True else ""


def _named(table: dict[str, object], key: Callable[[str], str], skip: Iterable[str] = ()) -> Found:
    for name, value in table.items():
        spec = _spec_of(value)
        if spec is not None and name.lower() not in skip:
            yield key(name), Declared(name, spec)


def _pyproject(doc: dict[str, object]) -> Found:
    project = _table(doc, "project")
    yield from _requirements(project.get("dependencies"))
    for group in _table(project, "optional-dependencies").values():
        yield from _requirements(group)
    for group in _table(doc, "dependency-groups").values():
        yield from _requirements(group)
    yield from _requirements(_table(doc, "build-system").get("requires"))
    tool = _table(doc, "tool")
    poetry = _table(tool, "poetry")
    for table in (_table(poetry, "dependencies"), _table(poetry, "dev-dependencies")):
        yield from _named(table, _python_key, skip=("python",))
    for group in _tables(_table(poetry, "group")):
        yield from _named(_table(group, "dependencies"), _python_key, skip=("python",))
    uv = _table(tool, "uv")
    for name in ("dev-dependencies", "constraint-dependencies", "override-dependencies"):
        yield from _requirements(uv.get(name))
    for group in _table(_table(tool, "pdm"), "dev-dependencies").values():
        yield from _requirements(group)


def _pipfile(doc: dict[str, object]) -> Found:
    for name, table in doc.items():
        if name.endswith("packages") and isinstance(table, dict):
            yield from _named(table, _python_key)


def _cargo(doc: dict[str, object]) -> Found:
    tables = [doc, _table(doc, "workspace"), *_tables(_table(doc, "target"))]
    for table in tables:
        for name in ("dependencies", "dev-dependencies", "build-dependencies"):
            yield from _named(_table(table, name), str.lower)


def _catalog(doc: dict[str, object]) -> Found:
    """A Gradle version catalog: ``[versions]``, ``[libraries]`` and ``[plugins]``."""
    for alias, value in _table(doc, "versions").items():
        spec = value if isinstance(value, str) else _catalog_version(value)
        if spec is not None:
            yield alias.lower(), Declared(alias, spec, anchor=alias)
    for section, field in (("libraries", "module"), ("plugins", "id")):
        for alias, value in _table(doc, section).items():
            if isinstance(value, str):
                name, _, spec = value.rpartition(":") if value.count(":") >= (
                    2 if section == "libraries" else 1
                ) else (value, "", "")
            elif isinstance(value, dict):
                group, artifact = _string(value, "group"), _string(value, "name")
                name = _string(value, field) or (f"{group}:{artifact}" if group else "")
                spec = _catalog_version(value.get("version")) or ""
            else:
                continue
            if name:
                yield name.lower(), Declared(name, spec, anchor=alias)


def _catalog_version(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("ref", "strictly", "require", "prefer"):
            found = _string(value, key)
            if found is not None:
                return f"ref {found}" if key == "ref" else found
    return None


def _locked(key: Callable[[str], str]) -> Callable[[dict[str, object]], Found]:
    """``[[package]]`` entries with a name and a version (poetry, uv, pdm and Cargo locks)."""

    def read(doc: dict[str, object]) -> Found:
        packages = doc.get("package")
        for entry in packages if isinstance(packages, list) else ():
            name = _string(entry, "name")
            if name is not None:
                yield key(name), Declared(name, _string(entry, "version") or "")

    return read


_NPM_SECTIONS = (
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
    "overrides",
    "resolutions",
)


def _package_json(doc: object) -> Found:
    for section in _NPM_SECTIONS:
        stack: list[tuple[str, object, int]] = [("", _table(doc, section), 0)]
        while stack:  # overrides nest: {"a": {".": "1.0", "b": "2.0"}}
            parent, table, depth = stack.pop()
            for name, value in table.items() if isinstance(table, dict) else ():
                shown = parent if name == "." and parent else name
                if isinstance(value, str):
                    yield shown.lower(), Declared(shown, value, anchor=shown)
                elif isinstance(value, dict) and depth < 4:
                    stack.append((name, value, depth + 1))


def _npm_lock(doc: object) -> Found:
    packages = _table(doc, "packages")
    if packages:  # lockfileVersion 2 and 3: {"node_modules/a/node_modules/b": {...}}
        for path, entry in packages.items():
            name = path.rpartition("node_modules/")[2] if "node_modules/" in path else None
            version = _string(entry, "version")
            if name and version is not None:
                yield name.lower(), Declared(name, version, anchor=path)
        return
    stack = [_table(doc, "dependencies")]  # lockfileVersion 1: nested "dependencies"
    while stack:
        for name, entry in stack.pop().items():
            version = _string(entry, "version")
            if version is not None:
                yield name.lower(), Declared(name, version)
            nested = _table(entry, "dependencies")
            if nested:
                stack.append(nested)


def _pipfile_lock(doc: object) -> Found:
    for section in ("default", "develop"):
        for name, entry in _table(doc, section).items():
            version = _string(entry, "version")
            if version is not None:
                yield _python_key(name), Declared(name, show_spec(version))


def _toml(ecosystem: str, read: Callable[[dict[str, object]], Found]) -> Reader:
    def parse(text: str) -> tuple[str, list[tuple[str, Declared]]]:
        try:
            doc = parse_toml_text(text.lstrip("\ufeff"))
        except ValueError as error:
            raise ManifestError(f"not read as TOML: {error}") from None
        return ecosystem, _located(text, read(doc))

    return parse


def _json(ecosystem: str, read: Callable[[object], Found]) -> Reader:
    def parse(text: str) -> tuple[str, list[tuple[str, Declared]]]:
        try:
            doc = parse_json_text(text.lstrip("\ufeff"))
        except ValueError as error:
            raise ManifestError(f"not read as JSON: {error}") from None
        return ecosystem, _located(text, read(doc))

    return parse


_PARSED_FORMATS: dict[str, Reader] = {
    "pyproject.toml": _toml("pip", _pyproject),
    "pipfile": _toml("pipenv", _pipfile),
    "cargo.toml": _toml("cargo", _cargo),
    "libs.versions.toml": _toml("gradle", _catalog),
    "poetry.lock": _toml("pip", _locked(_python_key)),
    "uv.lock": _toml("pip", _locked(_python_key)),
    "pdm.lock": _toml("pip", _locked(_python_key)),
    "cargo.lock": _toml("cargo", _locked(str.lower)),
    "package.json": _json("npm", _package_json),
    "package-lock.json": _json("npm", _npm_lock),
    "npm-shrinkwrap.json": _json("npm", _npm_lock),
    "pipfile.lock": _json("pipenv", _pipfile_lock),
}


# where a parsed entry is -------------------------------------------------------------------------

_TOKEN = re.compile(r"[\w@][\w.\-/@+~]*")
_TOKEN_LINES = 8  # the first lines where a token appears that are kept
_NEAR = 4  # lines after its name in which an entry's version is looked for


def _located(text: str, found: Found) -> list[tuple[str, Declared]]:
    """FOUND with the line of each entry: where its anchor (or name) is, preferring a place
    whose version follows within a few lines (a lockfile's ``name`` then ``version``)."""
    entries = list(found)
    if not entries:
        return entries
    lines = [cut(line) for line in text.splitlines()]
    index: dict[str, list[int]] = {}
    for number, text_line in enumerate(lines, 1):
        for token in _TOKEN.findall(text_line):
            seen = index.setdefault(token.lower(), [])
            if len(seen) < _TOKEN_LINES and (not seen or seen[-1] != number):
                seen.append(number)
    out = []
    for key, entry in entries:
        candidates = index.get((entry.anchor or entry.name).lower(), [])
        line: int | None = candidates[0] if candidates else None
        version = entry.spec.strip()
        if version:
            line = next(
                (
                    n
                    for c in candidates
                    for n in range(c, min(c + _NEAR, len(lines)) + 1)
                    if version in lines[n - 1]
                ),
                line,
            )
        out.append((key, Declared(entry.name, entry.spec, line, entry.anchor)))
    return out


# -- one file ------------------------------------------------------------------------------------


def _file_name(path: str) -> str:
    return normalize(path).rsplit("/", 1)[-1].lower()


def parser_for(path: str) -> Reader | None:
    """What reads the manifest or lockfile at PATH (None: its kind is named, not parsed)."""
    lower = _file_name(path)
    parts = normalize(path).lower().split("/")
    if (lower.startswith(("requirements", "constraints")) and lower.endswith(".txt")) or (
        len(parts) > 1 and parts[-2] == "requirements" and lower.endswith(".txt")
    ):
        return _by_lines(Requirements)
    if lower.endswith(".gemspec"):
        return _by_lines(Gem)
    if lower in _PARSED_FORMATS:
        return _PARSED_FORMATS[lower]
    factory = _LINE_FORMATS.get(lower)
    return _by_lines(factory) if factory else None


def declared(path: str, text: str) -> tuple[str, list[tuple[str, Declared]]]:
    """(ecosystem, [(package key, what is declared)]) of the file at PATH whose text is TEXT.

    Raises :class:`ManifestError` when TEXT is not valid in the file's format, and
    ``LookupError`` when PATH is no kind of file that is parsed."""
    reader = parser_for(path)
    if reader is None:
        raise LookupError(path)
    return reader(text)


def _side(path: str, text: str | None, side: str) -> tuple[str, list[tuple[str, Declared]]]:
    if text is None:
        return "", []
    try:
        return declared(path, text)
    except ManifestError as error:
        what, _, why = str(error).partition(": ")
        raise ManifestError(f"{what} at the {side}: {why}") from None


def file_changes(item: FileDiff, old: str | None, new: str | None) -> list[DependencyChange] | None:
    """What the final diff of one manifest or lockfile changes, from its whole text at the
    merge-base (OLD) and the head (NEW), None on a side where it does not exist.

    None when the file's kind is not parsed; :class:`ManifestError` when a side is not valid
    TOML or JSON."""
    if item.binary or parser_for(item.path) is None:
        return None
    old_path = item.old_path or item.path
    if parser_for(old_path) is None:
        old_path = item.path
    eco_old, before = _side(old_path, old, "base")
    eco, after = _side(item.path, new, "head")
    return _difference(item.path, eco or eco_old, before, after)


def _difference(
    path: str,
    eco: str,
    before: list[tuple[str, Declared]],
    after: list[tuple[str, Declared]],
) -> list[DependencyChange]:
    """The packages whose declarations differ between BEFORE and AFTER.

    A package may be declared more than once (two versions in a lockfile, a dependency and a
    peer dependency): declarations that mean the same on both sides cancel out; what is left
    pairs in version order (a change), and the rest is added or removed."""
    olds: dict[str, list[Declared]] = {}
    news: dict[str, list[Declared]] = {}
    for key, entry in before:
        olds.setdefault(key, []).append(entry)
    for key, entry in after:
        news.setdefault(key, []).append(entry)
    changes: list[DependencyChange] = []
    for key in sorted(olds.keys() | news.keys()):
        left, right = _cancel(olds.get(key, []), news.get(key, []), eco)
        left.sort(key=lambda e: version_numbers(e.spec) or ())
        right.sort(key=lambda e: version_numbers(e.spec) or ())
        for a, b in zip(left, right, strict=False):  # the longer one's rest: below
            kind, major = compare(a.spec, b.spec, eco)
            changes.append(
                DependencyChange(path, eco, key, b.name, kind, a.spec, b.spec, b.line, major)
            )
        for a in left[len(right) :]:
            changes.append(
                DependencyChange(path, eco, key, a.name, "removed", a.spec, None, a.line, False)
            )
        for b in right[len(left) :]:
            changes.append(
                DependencyChange(path, eco, key, b.name, "added", None, b.spec, b.line, False)
            )
    return changes


def _cancel(
    old: list[Declared], new: list[Declared], eco: str
) -> tuple[list[Declared], list[Declared]]:
    """OLD and NEW without the declarations that mean the same on both sides."""
    common = Counter(_same(e.spec, eco) for e in old) & Counter(
        _same(e.spec, eco) for e in new
    )
    if not common:
        return list(old), list(new)

    def rest(entries: list[Declared]) -> list[Declared]:
        left = Counter(common)
        out = []
        for entry in entries:
            same = _same(entry.spec, eco)
            if left[same] > 0:
                left[same] -= 1
            else:
                out.append(entry)
        return out

    return rest(old), rest(new)
