"""Docs that cannot drift: every setting and every command is documented."""

from pathlib import Path

from stormwatch.cli import main
from stormwatch.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_documented_with_env_and_default():
    table = (ROOT / "docs" / "settings.md").read_text()
    for setting in SETTINGS:
        row = next(
            (line for line in table.splitlines() if line.startswith(f"| {setting.name} |")), None
        )
        assert row is not None, f"docs/settings.md lacks {setting.name}"
        assert setting.env in row
        assert (setting.default or "empty") in row


def test_every_command_in_readme_and_two_commands_on_top():
    readme = (ROOT / "README.md").read_text()
    for name in main.commands:
        assert f"stormwatch {name}" in readme, f"README lacks `stormwatch {name}`"
    top = readme[:1500]
    assert "make demo" in top and "make test" in top
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "docs/architecture.md" in readme
