"""`orchestrator config view|set|unset`, as `prefect config ...` does it.

Settings are read from the environment, the active profile of `$PREFECT_HOME/profiles.toml`,
a `.env` file, then defaults; `view` names the source of each, `set` and `unset` edit the
active profile (the file `prefect config set` writes).
"""

from __future__ import annotations

import json
import os

from django.core.management.base import BaseCommand, CommandError

from orchestrator import config


class Command(BaseCommand):
    help = "View or change the server's settings (the active Prefect profile)."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True, metavar="{view,set,unset}")
        view = commands.add_parser("view", help="Show the settings and where each comes from.")
        view.add_argument("--show-sources", dest="sources", action="store_true", default=True)
        view.add_argument("--hide-sources", dest="sources", action="store_false")
        view.add_argument("--show-defaults", dest="defaults", action="store_true", default=True)
        view.add_argument("--hide-defaults", dest="defaults", action="store_false")
        view.add_argument("--show-secrets", dest="secrets", action="store_true", default=False)
        view.add_argument("--hide-secrets", dest="secrets", action="store_false")
        view.add_argument("-o", "--output", choices=["json"], default=None)
        set_ = commands.add_parser("set", help="Set KEY=VALUE pairs in the active profile.")
        set_.add_argument("pairs", nargs="+", metavar="KEY=VALUE")
        unset = commands.add_parser("unset", help="Remove keys from the active profile.")
        unset.add_argument("keys", nargs="+", metavar="KEY")
        unset.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, command, **options):
        try:
            if command == "view":
                self.view(options)
            elif command == "set":
                self.set(options["pairs"])
            else:
                self.unset(options["keys"])
        except config.ConfigurationError as exc:
            raise CommandError(str(exc)) from exc

    def view(self, options) -> None:
        values = config.resolve()
        rows = []
        home_source = "env" if "PREFECT_HOME" in os.environ else "defaults"
        if options["defaults"] or home_source != "defaults":
            rows.append(("PREFECT_HOME", str(config.prefect_home()), home_source))
        for name in sorted(values):
            value = values[name]
            if value.source == "defaults" and not options["defaults"]:
                continue
            if value.value is None and value.source == "defaults":
                continue
            shown = value.value if options["secrets"] else value.display
            rows.append((name, _text(shown), value.source))
        if options["output"] == "json":
            self.stdout.write(json.dumps([{"name": n, "value": v, "source": s} for n, v, s in rows], indent=2))
            return
        self.stdout.write(f"PREFECT_PROFILE={config.active_profile_name()!r}")
        for name, shown, source in rows:
            suffix = f" (from {source})" if options["sources"] else ""
            self.stdout.write(f"{name}={shown!r}{suffix}")

    def set(self, pairs: list[str]) -> None:
        updates: dict[str, str] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            key = key.strip()
            if not sep or not key:
                raise CommandError(f"{pair!r} is not KEY=VALUE")
            _check_name(key)
            setting = config.BY_NAME.get(key)
            if setting is not None:
                try:
                    setting.parse(value)
                except (TypeError, ValueError) as exc:
                    raise CommandError(f"{key}={value!r} is not a valid value: {exc}") from exc
            updates[key] = value
        profile, path = config.write_profile_settings(updates)
        for key, value in updates.items():
            self.stdout.write(f"Set {key!r} to {value!r}.")
        self.stdout.write(f"Updated profile {profile!r}.")

    def unset(self, keys: list[str]) -> None:
        for key in keys:
            _check_name(key)
        profile, _ = config.write_profile_settings({key: None for key in keys})
        for key in keys:
            self.stdout.write(f"Unset {key!r}.")
        self.stdout.write(f"Updated profile {profile!r}.")


def _check_name(key: str) -> None:
    if key in config.BY_NAME or key.startswith("PREFECT_"):
        return
    raise CommandError(f"Unknown setting name {key!r}.")


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
