"""Colour themes from TOML files: fixreview's own in ``themes/``, the user's in their config.

A theme file (format in ``themes/README.md``) holds the base colours of a Textual ``Theme`` plus
two tables of app colours, ``[diff]`` and ``[severity]``, which become the CSS variables
``$diff-*`` and ``$severity-*``. Colours a file leaves out are derived from its base colours.

Loading never raises: each bad file gives one error line for the app to show as a notification
(``notify_theme_errors``), always as plain ``Content`` since paths and values come from files.
Built-in Textual themes get the app variables too, through ``theme_variable_defaults``, which the
app returns from ``App.get_theme_variable_defaults``, so CSS using them works under any theme.

The app's part, in ``on_mount``::

    errors = setup_themes(self)   # register_themes + apply_saved_theme + remember_theme_changes
    notify_theme_errors(self, errors)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError
from textual.app import App
from textual.color import Color, ColorParseError
from textual.content import Content
from textual.theme import Theme

from fixreview.app.settings import load_settings, save_settings
from fixreview.documents import parse_toml_text
from fixreview.errors import InputError
from fixreview.safetext import visible
from fixreview.user_config import config_dir

DEFAULT_THEME = "fixreview-dark"
"""The theme used when none was chosen, or the chosen one is no longer available."""

DIFF_KEYS = (
    "added-background",
    "removed-background",
    "added-foreground",
    "removed-foreground",
    "hunk",
    "hidden-char",
)
"""Keys of a theme file's ``[diff]`` table; the CSS variable is ``diff-<key>``."""

SEVERITY_KEYS = ("critical", "high", "medium", "low", "info")
"""Keys of a theme file's ``[severity]`` table; the CSS variable is ``severity-<key>``."""

VARIABLE_NAMES = tuple(f"diff-{key}" for key in DIFF_KEYS) + tuple(
    f"severity-{key}" for key in SEVERITY_KEYS
)
"""Every CSS variable fixreview adds to Textual's."""

DEFAULT_VARIABLES: Mapping[str, str] = {
    # The same colours as themes/dark.toml, for a dark background.
    "diff-added-background": "#12311F",
    "diff-removed-background": "#3A1618",
    "diff-added-foreground": "#6EE7A0",
    "diff-removed-foreground": "#FCA5A5",
    "diff-hunk": "#7DD3FC",
    "diff-hidden-char": "#FACC15",
    "severity-critical": "#FB7185",
    "severity-high": "#FB923C",
    "severity-medium": "#FACC15",
    "severity-low": "#60A5FA",
    "severity-info": "#9CA3AF",
}
"""Fallback values of the app's CSS variables, whatever theme is active."""

ANSI_VARIABLES: Mapping[str, str] = {
    "diff-added-background": "transparent",
    "diff-removed-background": "transparent",
    "diff-added-foreground": "ansi_green",
    "diff-removed-foreground": "ansi_red",
    "diff-hunk": "ansi_cyan",
    "diff-hidden-char": "ansi_yellow",
    "severity-critical": "ansi_bright_red",
    "severity-high": "ansi_red",
    "severity-medium": "ansi_yellow",
    "severity-low": "ansi_blue",
    "severity-info": "ansi_default",
}
"""The app's variables for themes in the terminal's own (ANSI) colours."""

MAX_THEME_FILE_BYTES = 256 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_SHOWN_VALUE_CHARS = 40


class ThemeFileError(InputError):
    """A theme file that cannot be used; the message is one line naming the file."""


# --- the file format -------------------------------------------------------------------------


def _shown(value: str) -> str:
    """VALUE quoted and shortened for an error message."""
    if len(value) > _SHOWN_VALUE_CHARS:
        value = value[: _SHOWN_VALUE_CHARS - 1] + "\u2026"
    return repr(value)


def _colour(value: str) -> str:
    """VALUE as Textual's canonical colour text (``#RRGGBB``, ``#RRGGBBAA`` or ``ansi_*``)."""
    try:
        return Color.parse(value).hex
    except ColorParseError:
        raise PydanticCustomError(
            "colour", "not a colour ({value})", {"value": _shown(value)}
        ) from None


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise PydanticCustomError(
            "theme_name",
            "not a theme name ({value}): use 1 to 64 letters, digits, '-' and '_'",
            {"value": _shown(value)},
        )
    return value


ColourText = Annotated[StrictStr, AfterValidator(_colour)]
ThemeName = Annotated[StrictStr, AfterValidator(_name)]


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=_kebab, frozen=True)


class DiffColours(_Table):
    """The ``[diff]`` table."""

    added_background: ColourText | None = None
    removed_background: ColourText | None = None
    added_foreground: ColourText | None = None
    removed_foreground: ColourText | None = None
    hunk: ColourText | None = None
    hidden_char: ColourText | None = None


class SeverityColours(_Table):
    """The ``[severity]`` table."""

    critical: ColourText | None = None
    high: ColourText | None = None
    medium: ColourText | None = None
    low: ColourText | None = None
    info: ColourText | None = None


class ThemeFile(_Table):
    """A theme file: Textual's theme colours, then fixreview's ``[diff]`` and ``[severity]``."""

    name: ThemeName
    dark: StrictBool = True
    primary: ColourText
    secondary: ColourText | None = None
    accent: ColourText | None = None
    warning: ColourText | None = None
    error: ColourText | None = None
    success: ColourText | None = None
    foreground: ColourText | None = None
    background: ColourText | None = None
    surface: ColourText | None = None
    panel: ColourText | None = None
    boost: ColourText | None = None
    diff: DiffColours = DiffColours()
    severity: SeverityColours = SeverityColours()

    def variables(self) -> dict[str, str]:
        """The app variables the file gives (derived ones not included)."""
        given = {
            f"diff-{key}": value
            for key, value in self.diff.model_dump(by_alias=True, exclude_none=True).items()
        }
        given.update(
            (f"severity-{key}", value)
            for key, value in self.severity.model_dump(by_alias=True, exclude_none=True).items()
        )
        return given

    def to_theme(self) -> Theme:
        """The Textual theme, its variables holding every diff-* and severity-* colour."""
        base = Theme(
            name=self.name,
            dark=self.dark,
            **self.model_dump(exclude={"name", "dark", "diff", "severity"}),
        )
        return dataclasses.replace(base, variables=derive_variables(base, self.variables()))


# --- colours derived from a theme ------------------------------------------------------------


def _luminance(colour: Color) -> float:
    """WCAG relative luminance."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)


def _contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio of two opaque colours (1 to 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _readable(colour: Color, background: Color, minimum: float) -> Color:
    """COLOUR, lightened or darkened until it has MINIMUM contrast against BACKGROUND."""
    towards_light = _luminance(background) < 0.18
    for _ in range(20):
        if _contrast(colour, background) >= minimum:
            break
        colour = colour.lighten(0.04) if towards_light else colour.darken(0.04)
    return colour


def derive_variables(theme: Theme, given: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every app variable for THEME: those in GIVEN, the rest derived from THEME's colours.

    Backgrounds of added and removed lines tint the background with the success and error
    colours; foregrounds are made readable on them. A theme in ANSI colours gets ANSI colours.
    Never raises: a theme whose colours cannot be worked with gets the defaults.
    """
    given = {k: v for k, v in (given or {}).items() if k in VARIABLE_NAMES}
    try:
        resolved = theme.to_color_system().generate()
        base = {
            key: Color.parse(resolved[key])
            for key in ("background", "foreground", "primary", "success", "error", "warning")
        }
        base["accent"] = Color.parse(resolved["accent"])
    except (ColorParseError, KeyError, ValueError):
        return {**DEFAULT_VARIABLES, **given}
    if theme.ansi or any(colour.ansi is not None for colour in base.values()):
        return {**ANSI_VARIABLES, **given}

    background = base["background"]
    derived: dict[str, str] = {}

    def colour(name: str, default: Callable[[], Color]) -> Color:
        if name in given:
            parsed = Color.parse(given[name])
            return background + parsed if parsed.a < 1 else parsed
        value = default()
        derived[name] = value.hex
        return value

    tint = 0.2 if theme.dark else 0.16
    added_bg = colour("diff-added-background", lambda: background.blend(base["success"], tint))
    removed_bg = colour("diff-removed-background", lambda: background.blend(base["error"], tint))
    colour("diff-added-foreground", lambda: _readable(base["success"], added_bg, 4.5))
    colour("diff-removed-foreground", lambda: _readable(base["error"], removed_bg, 4.5))
    colour("diff-hunk", lambda: _readable(base["accent"], background, 3))
    colour("diff-hidden-char", lambda: _readable(base["warning"], background, 4.5))
    colour("severity-critical", lambda: _readable(base["error"], background, 3))
    colour(
        "severity-high",
        lambda: _readable(base["error"].blend(base["warning"], 0.5), background, 3),
    )
    colour("severity-medium", lambda: _readable(base["warning"], background, 3))
    colour("severity-low", lambda: _readable(base["primary"], background, 3))
    colour(
        "severity-info",
        lambda: _readable(base["foreground"].blend(background, 0.35), background, 3),
    )
    return {name: given.get(name) or derived[name] for name in VARIABLE_NAMES}


def theme_variable_defaults(theme: Theme | None = None) -> dict[str, str]:
    """The app's CSS variables for ``App.get_theme_variable_defaults``.

    Without THEME, the fixed DEFAULT_VARIABLES. With THEME (pass ``self.current_theme``), colours
    derived from that theme, so that a light built-in theme gets light diff backgrounds; a
    fixreview theme's own variables take precedence over these anyway.
    """
    if theme is None:
        return dict(DEFAULT_VARIABLES)
    return derive_variables(theme, theme.variables)


# --- finding and loading theme files ---------------------------------------------------------


def bundled_themes_dir() -> Path:
    """fixreview's own themes: ``fixreview/_data/themes`` when installed from a wheel, else the
    checkout's top-level ``themes/``."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_data" / "themes"
    return installed if installed.is_dir() else package.parent / "themes"


def user_themes_dir() -> Path:
    """The user's themes: ``$XDG_CONFIG_HOME/fixreview/themes`` (default ``~/.config/...``)."""
    return config_dir() / "themes"


def _error(path: Path, problem: str) -> ThemeFileError:
    return ThemeFileError(visible(f"theme file {path}: {problem}", multiline=False))


def _describe(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "file"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if error["type"] == "missing":
        return f"{where}: required but missing"
    return f"{where}: {error['msg']}"


def load_theme_file(path: Path | str) -> Theme:
    """The theme in the TOML file PATH.

    Raises ThemeFileError, with one line naming the file and every problem in it.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_THEME_FILE_BYTES:
            raise _error(path, f"larger than {MAX_THEME_FILE_BYTES} bytes")
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise _error(path, f"cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise _error(path, "not UTF-8 text") from None
    try:
        table = parse_toml_text(text)
    except ValueError as error:
        raise _error(path, f"not valid TOML: {error}") from None
    try:
        theme_file = ThemeFile.model_validate(table)
    except ValidationError as error:
        raise _error(path, "; ".join(_describe(e) for e in error.errors())) from None
    return theme_file.to_theme()


def _theme_files(directory: Path) -> list[Path]:
    """The ``*.toml`` files in DIRECTORY, sorted; hidden files (editor droppings) left out."""
    return sorted(
        path
        for path in directory.iterdir()
        if path.suffix == ".toml" and not path.name.startswith(".") and path.is_file()
    )


def load_all_themes() -> tuple[list[Theme], list[str]]:
    """The bundled themes, then the user's (a user theme replaces a bundled one of its name),
    and one error line per file that could not be used. Never raises.
    """
    themes: dict[str, Theme] = {}
    errors: list[str] = []
    bundled = bundled_themes_dir()
    if not bundled.is_dir():
        errors.append(visible(f"fixreview's themes are missing: {bundled}", multiline=False))
    for directory in (bundled, user_themes_dir()):
        if not directory.is_dir():
            continue
        try:
            paths = _theme_files(directory)
        except OSError as error:
            errors.append(visible(f"theme directory {directory}: {error}", multiline=False))
            continue
        names: dict[str, Path] = {}
        for path in paths:
            try:
                theme = load_theme_file(path)
            except ThemeFileError as error:
                errors.append(error.message)
                continue
            if theme.name in names:
                errors.append(
                    str(_error(path, f"name {theme.name!r} is already used by {names[theme.name]}"))
                )
                continue
            names[theme.name] = path
            themes[theme.name] = theme
    return list(themes.values()), errors


# --- the app's side --------------------------------------------------------------------------


def register_themes(app: App[Any]) -> list[str]:
    """Register every loadable theme on APP; the error lines for the files that were not."""
    themes, errors = load_all_themes()
    for theme in themes:
        app.register_theme(theme)
    return errors


def apply_saved_theme(app: App[Any]) -> None:
    """Make the remembered theme APP's theme if it is registered, else the default theme."""
    saved = load_settings().theme
    if saved is not None and saved in app.available_themes:
        app.theme = saved
    elif DEFAULT_THEME in app.available_themes:
        app.theme = DEFAULT_THEME


def remember_theme_changes(app: App[Any]) -> None:
    """Save APP's theme in the settings whenever it changes from now on.

    Call it while APP is running (``on_mount``) and after ``apply_saved_theme``: a change made
    before the call, such as falling back to the default theme, is not saved, so the choice of a
    theme whose file is broken today is still there once the file is fixed.
    """
    last = app.theme

    def on_theme_changed(theme: Theme) -> None:
        nonlocal last
        if theme.name == last:
            return
        last = theme.name
        try:
            save_settings(load_settings().model_copy(update={"theme": theme.name}))
        except OSError as error:
            notify_theme_errors(app, [f"the theme choice could not be saved: {error}"])

    app.theme_changed_signal.subscribe(app, on_theme_changed)


def setup_themes(app: App[Any]) -> list[str]:
    """``register_themes``, ``apply_saved_theme`` and ``remember_theme_changes``, in that order.

    Call it from ``on_mount``; it returns the error lines for ``notify_theme_errors``.
    """
    errors = register_themes(app)
    apply_saved_theme(app)
    remember_theme_changes(app)
    return errors


def notify_theme_errors(app: App[Any], errors: list[str]) -> None:
    """Show ERRORS, if any, in one warning notification, as plain text (never markup)."""
    if not errors:
        return
    text = "\n".join(visible(line, multiline=False) for line in errors)
    # Textual annotates the message as str, but passes a Content through unparsed
    # (Content.from_markup returns a Content unchanged); a str would be parsed as markup.
    app.notify(
        Content(text),  # type: ignore[arg-type]
        title="Theme files",
        severity="warning",
        timeout=15,
    )
