"""Dependency manifests and lockfiles in a diff: which packages were added, removed or bumped.

Only the diff is read (the check is pure), so each parser sees the changed lines and the few
context lines around them, and keeps track of the section it is in (a TOML table, a JSON
object, a lockfile entry) as far as those lines show it. That is enough for the usual edits:
a pinned version changed, a package added or removed, a lockfile entry moved to a new version.
Where the section cannot be seen, a line counts only when it looks like a dependency beyond
doubt (a name and a version constraint, a key that is not one of the package's own fields).

Versions are compared on their numbers: a *major* jump is a change of the first number, or
of the second one for ``0.x`` versions (semver's rule for pre-1.0 releases).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from fixreview.repo.diffs import FileDiff
from fixreview.risk.bounds import cut
from fixreview.risk.paths import normalize

ChangeKind = Literal["added", "removed", "bumped", "downgraded", "changed"]
Entry = tuple[str, str]  # (name, version spec as written)

_VERSION_NUMBER = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+)*)")
_PEP508 = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")
_SPEC_START = ("=", "<", ">", "!", "~", "@", "(")


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
        return text


def _major_text(version: tuple[int, ...]) -> str:
    return ".".join(str(n) for n in major_of(version)) + (".x" if version[0] == 0 else "")


def show_spec(spec: str | None) -> str:
    if not spec:
        return ""
    spec = spec.strip()
    return spec[2:].strip() if spec.startswith("==") and not spec.startswith("===") else spec


def compare(old: str, new: str) -> tuple[ChangeKind, bool]:
    """How a version spec changed: bumped, downgraded or (not comparable) changed; and major."""
    a, b = version_numbers(old), version_numbers(new)
    if a is None or b is None:
        return "changed", False
    size = max(len(a), len(b))
    if _pad(a, size) == _pad(b, size):
        return "changed", False
    kind: ChangeKind = "bumped" if _pad(b, size) > _pad(a, size) else "downgraded"
    return kind, major_of(_pad(a, 2)) != major_of(_pad(b, 2))


# -- line parsers --------------------------------------------------------------------------------


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


def _python_key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class Parser:
    """Reads one side (old or new) of a hunk line by line; returns what each line declares."""

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


class SetupPy(Requirements):
    """setup.py / setup.cfg: requirement strings, quoted or on their own indented line."""

    def feed(self, text: str) -> list[Entry]:
        out = []
        for quoted in re.findall(r"""["']([^"']+)["']""", text) or [text.strip()]:
            entry = pep508(quoted, need_spec=True)
            if entry:
                out.append(entry)
        return out


_TOML_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(r"""^\s*("[^"]+"|'[^']+'|[A-Za-z0-9_.\-]+)\s*=\s*((?:.*\S)?)\s*$""")
_TOML_STRING = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)')\s*,?\s*(#.*)?$""")
_QUOTED = re.compile(r""""([^"]*)"|'([^']*)'""")
_VERSIONISH = re.compile(r"^\s*(\^|~>?|[<>]=?|==?|!=|\*|v?\d)")
_NON_DEPENDENCY_KEYS = frozenset(
    {
        "name",
        "version",
        "description",
        "readme",
        "license",
        "license-file",
        "requires-python",
        "python",
        "python_version",
        "python_full_version",
        "edition",
        "rust-version",
        "authors",
        "homepage",
        "repository",
        "documentation",
        "keywords",
        "categories",
        "build",
        "publish",
        "resolver",
        "include",
        "exclude",
        "workspace",
        "default-run",
        "links",
        "build-backend",
        "requires",
        "url",
        "verify_ssl",
        "main",
        "module",
        "types",
        "typings",
        "private",
        "type",
        "author",
        "packagemanager",
        "node",
        "npm",
        "yarn",
        "pnpm",
        "go",
        "toolchain",
    }
)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _dependency_table(section: str) -> bool:
    last = section.rsplit(".", 1)[-1]
    return last.endswith("dependencies") or last in ("packages", "dev-packages")


class Toml(Parser):
    """pyproject.toml (PEP 621 and Poetry), Pipfile, Cargo.toml, libs.versions.toml."""

    def __init__(self, ecosystem: str) -> None:
        self.ecosystem = ecosystem
        self.section: str | None = None
        self.array: str | None = None

    def key(self, name: str) -> str:
        return _python_key(name) if self.ecosystem in ("pip", "poetry", "pipenv") else name.lower()

    def _requirement_array(self) -> bool | None:
        """Whether the open array lists requirements: True, False, or None when unknown."""
        section = self.section or ""
        if section.endswith(("optional-dependencies", "dependency-groups")):
            return True
        if self.array is None:
            return None
        return self.array in ("dependencies", "requires", "dev-dependencies")

    def feed(self, text: str) -> list[Entry]:
        header = _TOML_HEADER.match(text)
        if header:
            self.section = header.group(1).replace('"', "").replace("'", "").lower()
            self.array = None
            return []
        if re.match(r"^\s*\]", text):
            self.array = None
            return []
        string = _TOML_STRING.match(text)
        if string:
            value = string.group(1) if string.group(1) is not None else string.group(2)
            listing = self._requirement_array()
            if listing is False:
                return []
            if listing is None and self.section not in (None, "project", "build-system"):
                return []  # an array of something else, as far as can be seen
            entry = pep508(value, need_spec=listing is None)
            return [entry] if entry else []
        pair = _TOML_KEY.match(text)
        if pair is None:
            return []
        key, value = _unquote(pair.group(1)), pair.group(2).split(" #", 1)[0].strip()
        if value.startswith("[") and not value.rstrip(",").endswith("]"):
            self.array = key.lower()
            return []
        if value.startswith("["):  # a one-line array
            self.array = key.lower()
            listing = self._requirement_array()
            self.array = None
            if not listing:
                return []
            values = [a or b for a, b in _QUOTED.findall(value)]
            return [e for e in (pep508(v, need_spec=False) for v in values) if e]
        return self._pair(key, value)

    def _pair(self, key: str, value: str) -> list[Entry]:
        section = self.section
        table = re.search(r"(?:^|\.)(?:dev-|build-)?dependencies\.([^.]+)$", section or "")
        if table and key == "version":
            return [(table.group(1), _unquote(value))]
        if section == "versions":  # gradle version catalog
            return [(key, _unquote(value))] if _VERSIONISH.match(_unquote(value)) else []
        if section in ("libraries", "plugins"):
            return self._catalog(value)
        if section is not None and not _dependency_table(section):
            return []
        if key.lower() in _NON_DEPENDENCY_KEYS:
            return []
        spec = self._spec(value)
        if spec is None:
            return []
        if section is None and not _VERSIONISH.match(spec):
            return []
        return [(key, spec)]

    @staticmethod
    def _spec(value: str) -> str | None:
        if value.startswith("{"):
            inner = re.search(r"""\bversion\s*=\s*["']([^"']*)["']""", value)
            if inner:
                return inner.group(1)
            other = re.search(r"""\b(tag|rev|branch|path|git)\s*=\s*["']([^"']*)["']""", value)
            return f"{other.group(1)} {other.group(2)}" if other else None
        if value[:1] in "\"'":
            return _unquote(value.rstrip(","))
        return None

    @staticmethod
    def _catalog(value: str) -> list[Entry]:
        text = _unquote(value)
        if text.count(":") == 2 and not value.startswith("{"):
            group, artifact, version = text.split(":")
            return [(f"{group}:{artifact}", version)]
        module = re.search(r"""\bmodule\s*=\s*["']([^"']+)["']""", value)
        pinned = re.search(r"""\bversion\s*=\s*["']([^"']+)["']""", value)
        return [(module.group(1), pinned.group(1))] if module and pinned else []


_JSON_OBJECT = re.compile(r'^\s*"([^"]*)"\s*:\s*\{\s*(\}\s*,?\s*)?$')
_JSON_PAIR = re.compile(r'^\s*"([^"]+)"\s*:\s*"([^"]*)"\s*,?\s*$')
_NPM_SECTIONS = frozenset(
    {
        "dependencies",
        "devdependencies",
        "peerdependencies",
        "optionaldependencies",
        "overrides",
        "resolutions",
    }
)


class PackageJson(Parser):
    ecosystem = "npm"

    def __init__(self) -> None:
        self.section: str | None = None

    def feed(self, text: str) -> list[Entry]:
        opened = _JSON_OBJECT.match(text)
        if opened:
            self.section = opened.group(1).lower() if not opened.group(2) else ""
            return []
        if re.match(r"^\s*\}", text):
            self.section = ""
            return []
        pair = _JSON_PAIR.match(text)
        if pair is None:
            return []
        name, spec = pair.group(1), pair.group(2)
        if self.section in _NPM_SECTIONS:
            return [(name, spec)]
        if self.section is None and name.lower() not in _NON_DEPENDENCY_KEYS:
            looks = _VERSIONISH.match(spec) or spec.startswith(("workspace:", "npm:"))
            return [(name, spec)] if looks else []
        return []


class LockBlocks(Parser):
    """Lockfiles made of entries whose name comes a line or two before their version."""

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
    ecosystem = "go"

    def key(self, name: str) -> str:
        return re.sub(r"/v\d+$", "", name)  # example.com/m/v2 is m's next major version

    def feed(self, text: str) -> list[Entry]:
        text = text.split("//", 1)[0].strip()
        text = re.sub(r"^require\s+", "", text).strip("( )")
        parts = text.split()
        if len(parts) == 2 and re.match(r"^v\d", parts[1]) and parts[0] not in ("go", "module"):
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


def _lock_toml(ecosystem: str, key: Callable[[str], str] = str.lower) -> LockBlocks:
    return LockBlocks(
        ecosystem,
        re.compile(r'^name\s*=\s*"([^"]+)"'),
        re.compile(r'^version\s*=\s*"([^"]+)"'),
        re.compile(r"^\[\[package\]\]"),
        key,
    )


def parser_for(path: str) -> Callable[[], Parser] | None:
    """A factory of parsers for the manifest or lockfile at PATH (None: not parsed, only named)."""
    name = normalize(path).rsplit("/", 1)[-1]
    lower = name.lower()
    parts = normalize(path).lower().split("/")
    if (lower.startswith(("requirements", "constraints")) and lower.endswith(".txt")) or (
        len(parts) > 1 and parts[-2] == "requirements" and lower.endswith(".txt")
    ):
        return Requirements
    table: dict[str, Callable[[], Parser]] = {
        "setup.py": SetupPy,
        "setup.cfg": SetupPy,
        "pyproject.toml": lambda: Toml("pip"),
        "pipfile": lambda: Toml("pipenv"),
        "cargo.toml": lambda: Toml("cargo"),
        "libs.versions.toml": lambda: Toml("gradle"),
        "package.json": PackageJson,
        "poetry.lock": lambda: _lock_toml("pip", _python_key),
        "uv.lock": lambda: _lock_toml("pip", _python_key),
        "pdm.lock": lambda: _lock_toml("pip", _python_key),
        "cargo.lock": lambda: _lock_toml("cargo"),
        "package-lock.json": _npm_lock,
        "npm-shrinkwrap.json": _npm_lock,
        "yarn.lock": lambda: LockBlocks(
            "npm",
            re.compile(r'^"?(@?[^@\s"]+)@'),
            re.compile(r'^\s+version:?\s+"?([^"\s]+)"?\s*$'),
        ),
        "pipfile.lock": lambda: LockBlocks(
            "pipenv",
            re.compile(r'^\s{8}"([^"]+)"\s*:\s*\{'),
            re.compile(r'^\s*"version"\s*:\s*"==([^"]+)"'),
            key=_python_key,
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
    if lower.endswith(".gemspec"):
        return Gem
    return table.get(lower)


def _npm_lock() -> Parser:
    return LockBlocks(
        "npm",
        re.compile(
            r'^\s*"(?:[^"]*/)?node_modules/((?:@[^/"]+/)?[^/"]+)"\s*:\s*\{'
            r'|^\s{4,}"(?!(?:dependencies|requires|packages|engines|bin|funding|peerDependencies'
            r'|optionalDependencies|devDependencies|peerDependenciesMeta)")(@?[\w.\-/]+)"\s*:\s*\{'
        ),
        re.compile(r'^\s*"version"\s*:\s*"([^"]+)"'),
        re.compile(r'^\s*""\s*:\s*\{'),
    )


def _gradle() -> Parser:
    return Regex("gradle", re.compile(r"""["']([\w.\-]+:[\w.\-]+):([^"'@:$]+)(?:@\w+)?["']"""))


# -- one file ------------------------------------------------------------------------------------


@dataclass
class _Side:
    entries: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)

    def add(self, key: str, name: str, spec: str, line: int | None) -> None:
        self.entries.setdefault(key, (name, spec, line))


def _sides(item: FileDiff, factory: Callable[[], Parser]) -> tuple[_Side, _Side, Parser]:
    old, new = _Side(), _Side()
    probe = factory()
    for hunk in item.hunks:
        old_parser, new_parser = factory(), factory()
        for line in hunk.lines:
            text = cut(line.text)  # bounded: no parser reads more of a line
            if line.kind in (" ", "-"):
                for name, spec in old_parser.feed(text):
                    if line.kind == "-":
                        old.add(old_parser.key(name), name, spec.strip(), line.old_no)
            if line.kind in (" ", "+"):
                for name, spec in new_parser.feed(text):
                    if line.kind == "+":
                        new.add(new_parser.key(name), name, spec.strip(), line.new_no)
    return old, new, probe


def file_changes(item: FileDiff) -> list[DependencyChange] | None:
    """What the diff of one manifest or lockfile changes; None when its kind is not parsed."""
    factory = parser_for(item.path)
    if factory is None or item.binary:
        return None
    old, new, probe = _sides(item, factory)
    changes: list[DependencyChange] = []
    eco = probe.ecosystem
    for key in sorted(old.entries.keys() | new.entries.keys()):
        before, after = old.entries.get(key), new.entries.get(key)
        if before and after:
            if before[1] == after[1]:
                continue  # moved or reformatted, same version
            kind, major = compare(before[1], after[1])
            changes.append(
                DependencyChange(
                    item.path, eco, key, after[0], kind, before[1], after[1], after[2], major
                )
            )
        elif after:
            name, spec, line = after
            changes.append(
                DependencyChange(item.path, eco, key, name, "added", None, spec, line, False)
            )
        elif before:
            name, spec, line = before
            changes.append(
                DependencyChange(item.path, eco, key, name, "removed", spec, None, line, False)
            )
    return changes
