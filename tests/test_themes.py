"""Themes from TOML files: the bundled ones, the user's, bad files, the remembered choice, CSS."""

from __future__ import annotations

import asyncio
import colorsys
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ParamSpec

import pytest
from textual.app import App, ComposeResult
from textual.color import Color
from textual.content import Content
from textual.theme import BUILTIN_THEMES, Theme
from textual.widgets import Static

from fixreview.app import settings as settings_module
from fixreview.app.main import FixreviewApp
from fixreview.app.settings import Settings, load_settings, save_settings, settings_path
from fixreview.app.themes import (
    DEFAULT_THEME,
    DEFAULT_VARIABLES,
    VARIABLE_NAMES,
    ThemeFileError,
    apply_saved_theme,
    bundled_themes_dir,
    load_all_themes,
    load_theme_file,
    notify_theme_errors,
    register_themes,
    setup_themes,
    theme_variable_defaults,
    user_themes_dir,
)
from fixreview.repo.git import Repository
from tests.test_app import SIZE

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ("fixreview-dark", "fixreview-light", "fixreview-high-contrast")

USER_THEME = """\
name = "my-theme"
dark = false
primary = "#884400"
background = "#FAFAF0"
success = "#227722"
error = "#AA2222"

[diff]
added-background = "#D0F0D0"
"""


# --- helpers ---------------------------------------------------------------------------------

P = ParamSpec("P")


def synchronously(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async test in its own event loop (the project has no async pytest plugin)."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of an opaque colour."""
    parsed = Color.parse(colour)

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(parsed.r) + 0.7152 * linear(parsed.g) + 0.0722 * linear(parsed.b)


def contrast(a: str, b: str) -> float:
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def hue(colour: str) -> float:
    """Hue in degrees, 0 to 360."""
    parsed = Color.parse(colour)
    h, _, _ = colorsys.rgb_to_hls(parsed.r / 255, parsed.g / 255, parsed.b / 255)
    return h * 360


def is_reddish(colour: str) -> bool:
    return hue(colour) < 20 or hue(colour) > 330


def is_greenish(colour: str) -> bool:
    return 75 <= hue(colour) <= 165


def resolved(theme: Theme, name: str) -> str:
    """A base colour of THEME as Textual resolves it (it fills in what a theme leaves out)."""
    return theme.to_color_system().generate()[name]


def themes_by_name() -> dict[str, Theme]:
    themes, errors = load_all_themes()
    assert errors == []
    return {theme.name: theme for theme in themes}


def user_dir() -> Path:
    directory = user_themes_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class ThemedApp(App[None]):
    """What the real app does with themes, and nothing else: a probe widget whose colours are
    app variables. The tests of what the real app shows (bad files, a failing save) drive
    FixreviewApp itself on the demo repository."""

    CSS = "#probe { background: $diff-added-background; color: $severity-critical; }"

    def __init__(self, derive: bool = False) -> None:
        self.derive = derive
        self.theme_errors: list[str] = []
        super().__init__()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return theme_variable_defaults(self.current_theme if self.derive else None)

    def compose(self) -> ComposeResult:
        yield Static("probe", id="probe")

    def on_mount(self) -> None:  # as FixreviewApp.on_mount
        self.theme_errors = setup_themes(self)
        notify_theme_errors(self, self.theme_errors)


def toast_texts(app: App[Any]) -> list[str]:
    texts = []
    for toast in app.screen.query("Toast"):
        rendered = toast.render()
        assert isinstance(rendered, Content)
        texts.append(rendered.plain)
    return texts


# --- bundled themes --------------------------------------------------------------------------


def test_bundled_themes_load_with_every_app_variable() -> None:
    assert bundled_themes_dir() == ROOT / "themes"
    themes = themes_by_name()
    assert set(BUNDLED) <= set(themes)
    for name in BUNDLED:
        variables = themes[name].variables
        assert set(VARIABLE_NAMES) <= set(variables), name
        for value in variables.values():
            Color.parse(value)
    assert themes["fixreview-light"].dark is False
    assert themes["fixreview-dark"].dark is True


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_diff_lines_are_readable(name: str) -> None:
    theme = themes_by_name()[name]
    v = theme.variables
    background, foreground = resolved(theme, "background"), resolved(theme, "foreground")
    for kind in ("added", "removed"):
        line_background = v[f"diff-{kind}-background"]
        assert contrast(v[f"diff-{kind}-foreground"], line_background) >= 3, kind
        assert contrast(foreground, line_background) >= 4.5, kind
    for key in ("diff-hunk", "diff-hidden-char", *(n for n in v if n.startswith("severity-"))):
        assert contrast(v[key], background) >= 3, key


def test_high_contrast_diffs_are_not_red_and_green() -> None:
    v = themes_by_name()["fixreview-high-contrast"].variables
    for part in ("foreground", "background"):
        added, removed = v[f"diff-added-{part}"], v[f"diff-removed-{part}"]
        for colour in (added, removed):
            assert not is_reddish(colour), (part, colour)
            assert not is_greenish(colour), (part, colour)
        difference = abs(hue(added) - hue(removed))
        assert min(difference, 360 - difference) >= 90, part  # far apart: blue against orange


def test_high_contrast_diffs_contrast_with_the_background() -> None:
    theme = themes_by_name()["fixreview-high-contrast"]
    v = theme.variables
    background = resolved(theme, "background")
    for kind in ("added", "removed"):
        assert contrast(v[f"diff-{kind}-foreground"], background) >= 3, kind
        assert contrast(v[f"diff-{kind}-foreground"], v[f"diff-{kind}-background"]) >= 3, kind
    # The two kinds of line differ in lightness too, not only in hue.
    assert contrast(v["diff-added-foreground"], v["diff-removed-foreground"]) >= 1.3


@synchronously
async def test_bundled_themes_register_and_default_applies() -> None:
    app = ThemedApp()
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert app.theme_errors == []
        assert set(BUNDLED) <= set(app.available_themes)
        assert "textual-dark" in app.available_themes  # Textual's own stay
        assert app.theme == DEFAULT_THEME
        probe = app.query_one("#probe")
        expected = app.available_themes[DEFAULT_THEME].variables["diff-added-background"]
        assert probe.styles.background == Color.parse(expected)
        assert toast_texts(app) == []


# --- user themes -----------------------------------------------------------------------------


@synchronously
async def test_user_theme_loads_and_is_available() -> None:
    (user_dir() / "mine.toml").write_text(USER_THEME)
    app = ThemedApp()
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert app.theme_errors == []
        assert "my-theme" in app.available_themes
        theme = app.available_themes["my-theme"]
        assert theme.dark is False
        assert theme.primary == "#884400"
        # Given colours are kept, the others derived from the base colours.
        assert theme.variables["diff-added-background"] == "#D0F0D0"
        assert set(VARIABLE_NAMES) <= set(theme.variables)
        assert contrast(theme.variables["diff-added-foreground"], "#D0F0D0") >= 4.5
        removed = theme.variables["diff-removed-background"]
        assert luminance(removed) > 0.5  # a tint of the light background, not a dark default
        app.theme = "my-theme"
        await pilot.pause()
        assert app.query_one("#probe").styles.background == Color.parse("#D0F0D0")


def test_user_theme_replaces_a_bundled_theme_of_its_name() -> None:
    (user_dir() / "dark.toml").write_text('name = "fixreview-dark"\nprimary = "#FF00FF"\n')
    themes, errors = load_all_themes()
    assert errors == []
    assert [t.primary for t in themes if t.name == "fixreview-dark"] == ["#FF00FF"]
    assert sum(t.name == "fixreview-dark" for t in themes) == 1


def test_user_themes_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_themes_dir() == tmp_path / "fixreview" / "themes"
    assert settings_path() == tmp_path / "fixreview" / "settings.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # the XDG spec: ignore it
    assert user_themes_dir() == Path.home() / ".config" / "fixreview" / "themes"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert user_themes_dir() == Path.home() / ".config" / "fixreview" / "themes"


def test_files_other_than_toml_and_hidden_files_are_ignored() -> None:
    (user_dir() / "notes.txt").write_text("not a theme")
    (user_dir() / ".#mine.toml").write_text("garbage [")
    assert load_all_themes()[1] == []


# --- bad theme files -------------------------------------------------------------------------

BAD_FILES = [
    ("invalid-toml.toml", 'name = "x"\nprimary = \n', "not valid TOML"),
    (
        "unknown-key.toml",
        'name = "x"\nprimary = "#123456"\nprimray = "#123456"\n',
        "primray: unknown key",
    ),
    (
        "unknown-diff-key.toml",
        'name = "x"\nprimary = "#123456"\n[diff]\nadded-backgroud = "red"\n',
        "diff.added-backgroud: unknown key",
    ),
    ("bad-colour.toml", 'name = "x"\nprimary = "not-a-colour"\n', "primary: not a colour"),
    (
        "bad-diff-colour.toml",
        'name = "x"\nprimary = "#123456"\n[severity]\nhigh = "#12345"\n',
        "severity.high: not a colour",
    ),
    ("no-primary.toml", 'name = "x"\n', "primary: required but missing"),
    ("bad-type.toml", 'name = "x"\nprimary = "#123456"\ndark = "yes"\n', "dark: "),
    ("bad-name.toml", 'name = "[b]x[/b]"\nprimary = "#123456"\n', "name: not a theme name"),
    (
        "underscore-key.toml",
        'name = "x"\nprimary = "#123456"\n[diff]\nadded_background = "red"\n',
        "diff.added_background: unknown key",
    ),
]


@pytest.mark.parametrize(("file_name", "text", "problem"), BAD_FILES)
def test_a_bad_theme_file_gives_one_error_line(file_name: str, text: str, problem: str) -> None:
    path = user_dir() / file_name
    path.write_text(text)
    with pytest.raises(ThemeFileError) as raised:
        load_theme_file(path)
    assert raised.value.message.startswith(f"theme file {path}: ")
    assert problem in raised.value.message
    themes, errors = load_all_themes()
    assert errors == [raised.value.message]
    assert "\n" not in errors[0]
    assert set(BUNDLED) <= {t.name for t in themes}  # the others still load


def test_bad_file_reports_every_problem_on_one_line() -> None:
    path = user_dir() / "many.toml"
    path.write_text('name = "x"\nprimary = "nope"\nsurface = "nah"\nextra = 1\n')
    [error] = load_all_themes()[1]
    assert "primary: not a colour ('nope')" in error
    assert "surface: not a colour ('nah')" in error
    assert "extra: unknown key" in error


def test_non_utf8_file_and_duplicate_names() -> None:
    (user_dir() / "binary.toml").write_bytes(b'name = "\xff"\n')
    (user_dir() / "a.toml").write_text('name = "twin"\nprimary = "red"\n')
    (user_dir() / "b.toml").write_text('name = "twin"\nprimary = "blue"\n')
    themes, errors = load_all_themes()
    assert len(errors) == 2
    assert "binary.toml: not UTF-8 text" in errors[1] or "binary.toml: not UTF-8 text" in errors[0]
    assert any("b.toml: name 'twin' is already used by" in e for e in errors)
    assert [t.primary for t in themes if t.name == "twin"] == ["#FF0000"]


def test_error_lines_show_control_characters_visibly() -> None:
    (user_dir() / "esc\x1b[2J.toml").write_text('name = "x"\nprimary = "\\u001b[31mred"\n')
    [error] = load_all_themes()[1]
    assert "\x1b" not in error
    assert "esc\u241b[2J.toml" in error  # ␛ in the file name
    assert "('\\x1b[31mred')" in error  # the value, quoted


async def test_bad_theme_files_app_starts_with_default_and_notifies(demo_repo: Path) -> None:
    """The real app, started with three broken theme files, one of them the saved choice: the
    default theme, and one warning that lists each file's problem literally."""
    save_settings(Settings(theme="my-theme"))
    (user_dir() / "my-theme.toml").write_text('name = "my-theme"\nprimary = "#12"\n')
    (user_dir() / "[b]x.toml").write_text('name = "y"\nprimary = "[/x]"\n')  # markup
    (user_dir() / "typo.toml").write_text('name = "t"\nprimary = "#123456"\nbackgorund = "red"\n')
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert app.theme == DEFAULT_THEME
        assert "my-theme" not in app.available_themes
        assert set(BUNDLED) <= set(app.available_themes)
        await pilot.pause()
        [shown] = toast_texts(app)  # one notification for the three files
        assert "[b]x.toml: primary: not a colour ('[/x]')" in shown  # literally, not as markup
        assert "typo.toml: backgorund: unknown key" in shown
        assert "my-theme.toml: primary: not a colour" in shown
        [warning] = [n for n in app._notifications if n.title == "Theme files"]
        assert warning.severity == "warning"
        assert app.is_running
    # Falling back did not forget the choice: it comes back once the file is fixed.
    assert load_settings().theme == "my-theme"


async def test_theme_errors_show_as_plain_text(demo_repo: Path) -> None:
    """Markup in a theme file's name and an escape in a value reach the real app's notification
    as text: nothing is parsed, run or sent to the terminal."""
    (user_dir() / "[@click=app.quit]y.toml").write_text('name = "y"\nprimary = "[/b]"\n')
    (user_dir() / "esc.toml").write_text('name = "e"\nprimary = "\\u001b[31mred"\n')
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        [text] = toast_texts(app)
        assert "[@click=app.quit]y.toml: primary: not a colour ('[/b]')" in text
        assert "esc.toml: primary: not a colour ('\\x1b[31mred')" in text
        assert "\x1b" not in text
        lines = text.splitlines()
        assert sum("theme file " in line for line in lines) == 2  # one line per file
        await pilot.click("Toast")
        await pilot.pause()
        assert app.is_running and app.return_code is None


def test_notify_theme_errors_says_nothing_without_errors() -> None:
    class Recorder(App[None]):
        def notify(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("notified")

    notify_theme_errors(Recorder(), [])


# --- the remembered choice -------------------------------------------------------------------


@synchronously
async def test_chosen_theme_is_saved_and_restored() -> None:
    app = ThemedApp()
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert app.theme == DEFAULT_THEME
        app.theme = "fixreview-light"
        await pilot.pause()
    assert load_settings().theme == "fixreview-light"
    assert 'theme = "fixreview-light"' in settings_path().read_text()

    again = ThemedApp()
    async with again.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert again.theme == "fixreview-light"
        again.theme = "nord"  # Textual's own themes are remembered too
        await pilot.pause()
    assert load_settings().theme == "nord"

    third = ThemedApp()
    async with third.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert third.theme == "nord"


@synchronously
async def test_starting_does_not_write_settings() -> None:
    app = ThemedApp()
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        await pilot.pause()
    assert not settings_path().exists()


@pytest.mark.parametrize(
    "text",
    ["theme = ", "theme = 3\n", "\xff\xfe garbage", '[theme]\nname = "x"\n'],
    ids=["invalid-toml", "wrong-type", "not-text", "table"],
)
@synchronously
async def test_a_broken_settings_file_is_ignored(text: str) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("latin-1"))
    assert load_settings() == Settings()
    app = ThemedApp()
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert app.theme == DEFAULT_THEME
        app.theme = "fixreview-high-contrast"
        await pilot.pause()
    assert load_settings().theme == "fixreview-high-contrast"


def test_unknown_theme_in_settings_falls_back_to_default() -> None:
    save_settings(Settings(theme="gone"))

    class Bare(App[None]):
        pass

    app = Bare()
    register_themes(app)
    apply_saved_theme(app)
    assert app.theme == DEFAULT_THEME


def test_saving_keeps_keys_it_does_not_know() -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('theme = "old"\nfuture = [1, 2]\n')
    save_settings(Settings(theme="new"))
    text = path.read_text()
    assert 'theme = "new"' in text
    assert "future = [" in text
    save_settings(Settings())
    assert "theme" not in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["settings.toml"]  # no temporary left


async def test_a_failing_save_is_a_notification_not_a_crash(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(settings: Settings) -> None:
        raise PermissionError(13, "Permission denied")

    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert toast_texts(app) == []
        monkeypatch.setattr("fixreview.app.themes.save_settings", fail)
        app.theme = "fixreview-light"
        await pilot.pause()
        await pilot.pause()
        assert app.is_running and app.theme == "fixreview-light"
        [text] = toast_texts(app)
        assert "the theme choice could not be saved: [Errno 13] Permission denied" in text
    assert settings_module.load_settings().theme is None


# --- CSS variables under any theme -----------------------------------------------------------


@synchronously
async def test_app_variables_resolve_under_a_builtin_theme() -> None:
    app = ThemedApp()
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        app.theme = "textual-dark"
        await pilot.pause()
        probe = app.query_one("#probe")
        assert probe.styles.background == Color.parse(DEFAULT_VARIABLES["diff-added-background"])
        assert probe.styles.color == Color.parse(DEFAULT_VARIABLES["severity-critical"])
        app.theme = "fixreview-high-contrast"
        await pilot.pause()
        assert probe.styles.background == Color.parse("#00264D")


@synchronously
async def test_derived_variables_follow_a_light_builtin_theme() -> None:
    app = ThemedApp(derive=True)
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        app.theme = "textual-light"
        await pilot.pause()
        background = app.query_one("#probe").styles.background
        assert luminance(background.hex) > 0.5  # a light tint, not the dark default
        app.theme = "textual-dark"
        await pilot.pause()
        assert luminance(app.query_one("#probe").styles.background.hex) < 0.1


@pytest.mark.parametrize("name", sorted(BUILTIN_THEMES))
def test_derived_variables_for_every_builtin_theme(name: str) -> None:
    theme = BUILTIN_THEMES[name]
    variables = theme_variable_defaults(theme)
    assert set(variables) == set(VARIABLE_NAMES)
    for value in variables.values():
        Color.parse(value)
    if theme.ansi:
        return
    for kind in ("added", "removed"):
        line = variables[f"diff-{kind}-background"]
        assert contrast(variables[f"diff-{kind}-foreground"], line) >= 4.5, kind


async def test_the_diff_views_highlight_styles_need_only_the_variables_they_name() -> None:
    """The diff view parses each highlight style with only the CSS variables it names (Textual
    tokenizes every variable it is given, on every call): the styles are the same as with all
    of them, in every theme the app registers."""
    from textual.markup import parse_style

    from fixreview.app.widgets.diff_view import _VARIABLE, DiffView

    app = App[None]()
    async with app.run_test():
        setup_themes(app)
        compared = 0
        for name in list(app.available_themes):
            app.theme = name
            variables = app.get_css_variables()
            for spec in DiffView.HIGHLIGHT_THEME.STYLES.values():
                named = {n: variables[n] for n in _VARIABLE.findall(spec) if n in variables}
                assert named or "$" not in spec, spec
                assert parse_style(spec, named) == parse_style(spec, variables), (name, spec)
                compared += 1
        assert compared > 100
