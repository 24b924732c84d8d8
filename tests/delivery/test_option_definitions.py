"""Each delivery option is defined once, in DeliveryOptions' field metadata: the command
line's flags, the config's delivery: keys and types and the CI wrappers' arguments are
made from it."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import click
from click.testing import CliRunner

from updater.ci.settings import Settings
from updater.cli import cli, pop_delivery
from updater.config import DELIVERY_FIELDS, DELIVERY_KEYS, MODES
from updater.deliver.options import FLAGS, DeliveryOptions


def test_every_user_option_has_one_flag_and_one_config_key() -> None:
    unflagged = {f.name for f in fields(DeliveryOptions)} - set(FLAGS)
    assert unflagged == {"retry_delay", "proposal_head", "proposal_text", "sources"}
    assert {
        "mode": ("str", MODES),
        **{flag.key: (flag.kind, flag.choices) for flag in FLAGS.values()},
    } == DELIVERY_KEYS
    assert {flag.key: name for name, flag in FLAGS.items()} == DELIVERY_FIELDS


def test_the_commands_take_the_flags_as_defined() -> None:
    for name in ("set-image", "poll", "promote", "rollback"):
        command = cli.commands[name]
        options = {param.name: param for param in command.params if isinstance(param, click.Option)}
        for field_name, flag in FLAGS.items():
            option = options[field_name]
            assert option.opts == [flag.name] and option.help == flag.help, (name, field_name)
            assert option.multiple is (flag.kind == "list")
            assert option.is_flag is (flag.kind == "bool")


def test_the_ci_arguments_spell_the_flags_as_defined() -> None:
    settings = Settings(
        command="poll",
        mode="pull-request",
        repo="r",
        branch="main",
        message="m",
        labels=("a", "b"),
        reviewers=("x",),
        auto_merge=True,
        token_variable="TOKEN",
        forge="gitlab",
        api_url="https://gitlab.example",
    )
    args = settings.argv()
    for option, value in (
        ("branch", "main"),
        ("message", "m"),
        ("api_url", "https://gitlab.example"),
        ("token_env", "TOKEN"),
        ("forge", "gitlab"),
    ):
        assert args[args.index(FLAGS[option].name) + 1] == value
    assert [args[i + 1] for i, a in enumerate(args) if a == FLAGS["labels"].name] == ["a", "b"]
    assert FLAGS["auto_merge"].name in args


def test_pop_delivery_keeps_a_given_false_and_drops_what_was_not_given() -> None:
    kwargs = {"draft": False, "labels": (), "branch": None, "signoff": True, "other": 1}
    assert pop_delivery(kwargs) == {"draft": False, "signoff": True}
    assert kwargs == {"other": 1}


def test_an_empty_text_option_is_refused_before_anything_runs(tmp_path: Path) -> None:
    """``--branch ''`` (a CI variable that was not set) is a mistake, not "the default"."""
    for flag in (name for name, f in FLAGS.items() if f.kind == "str" and not f.choices):
        option = FLAGS[flag].name
        result = CliRunner().invoke(
            cli, ["set-image", "--repo", str(tmp_path), option, " ", "--push", "ghcr.io/a/b:1"]
        )
        assert result.exit_code == 2, (option, result.output)
        assert f"{option}: must not be empty" in result.output


def test_an_option_the_mode_does_not_use_is_said_not_dropped(tmp_path: Path) -> None:
    from updater.deliver.options import ignored

    (tmp_path / "kustomization.yaml").write_text(
        "images:\n  - name: ghcr.io/a/b\n    newTag: '1'\n"
    )
    args = ["set-image", "--repo", str(tmp_path), "--label", "deploy", "--skip-ci"]
    text = CliRunner().invoke(cli, [*args, "ghcr.io/a/b:2"])
    assert text.exit_code == 0, text.output
    assert "updater: note: --skip-ci: not used by --dry-run" in text.stderr
    assert "updater: note: --label: not used by --dry-run" in text.stderr
    report = CliRunner().invoke(cli, [*args, "--json", "ghcr.io/a/b:2"])
    assert json.loads(report.stdout)["delivery"]["ignored_options"] == ["--skip-ci", "--label"]
    given = DeliveryOptions.from_mapping(
        {
            "labels": ("deploy",),
            "message": "x",
            "sources": {"message": "c.yaml:3: delivery.message"},
        }
    )
    assert ignored(given, "pull-request") == ()
    assert ignored(given, "push") == ("--label",)
    assert ignored(given, "write") == ("c.yaml:3: delivery.message", "--label")
