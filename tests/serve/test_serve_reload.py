"""SIGHUP reloads the config of a running ``updater serve``: a good file takes effect
(seen in what the next event does), a broken one is one log line naming FILE:LINE and
the config in force stays, and a reload that arrives during a delivery waits for it.

The delivery under way is held by a pre-receive hook on the remote that waits for a
file the test writes, so the order of events is fixed by handshakes, not by time."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.serve.server import Server, config_text, poll_until, running
from tests.serve.test_serve import make_remote, tag_on_remote

IMAGE = "registry.acme.test/acme/api"


def semver(below: str) -> str:
    return f"  - name: {IMAGE}\n    policy: semver\n    range: '>=1.0.0 <{below}'\n"


def reloads(server: Server, result: str) -> list[dict[str, object]]:
    return [line for line in server.logs("reload") if line["result"] == result]


def hangup(server: Server) -> None:
    assert server.process is not None
    server.process.send_signal(signal.SIGHUP)


def test_sighup_applies_a_good_config_and_keeps_it_on_a_broken_one(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    config = tmp_path / "updater.yaml"
    config.write_text(config_text(semver("2.0.0"), "  debounce: 0s\n"))
    server = Server(tmp_path, config, remote.url)
    with running(server):
        server.start()
        server.push_event(f"{IMAGE}:2.1.0")
        poll_until(lambda: server.state()["counts"]["ignored"] == 1, "2.1.0 outside the range")

        config.write_text(config_text(semver("3.0.0"), "  debounce: 0s\n"))
        hangup(server)
        [applied] = poll_until(lambda: reloads(server, "applied"), "the reload applied")
        assert applied["images"] == [IMAGE] and applied["file"] == str(config)
        server.push_event(f"{IMAGE}:2.2.0")
        poll_until(lambda: len(remote.log()) == 2, "the commit the new range allows")
        assert tag_on_remote(remote) == "2.2.0"

        config.write_text(config_text(semver("4.0.0"), "  debounce: soon\n"))
        hangup(server)
        [failed] = poll_until(lambda: reloads(server, "failed"), "the reload refused")
        assert failed["reason"] == (
            f"{config}:7: webhooks.debounce: 'soon' is not a duration (like 30m, 2h, 1d, 1h30m)"
        )
        # a file that is well formed but names a secret variable the server lacks: the
        # message is about the environment, so the file is put in front of it
        config.write_text(
            config_text(semver("4.0.0")).replace("UPDATER_WEBHOOK_SECRET", "NO_SUCH_SECRET")
        )
        hangup(server)
        _, unset = poll_until(
            lambda: len(found := reloads(server, "failed")) == 2 and found, "the second refusal"
        )
        assert unset["reason"] == (
            f"{config}: webhooks.secret-env: environment variable NO_SUCH_SECRET is unset or empty"
        )
        # still serving, with the config in force: 2.3.0 is inside it, 3.1.0 is not
        server.push_event(f"{IMAGE}:3.1.0")
        server.push_event(f"{IMAGE}:2.3.0")
        poll_until(lambda: len(remote.log()) == 3, "the commit under the kept config")
        assert tag_on_remote(remote) == "2.3.0"
        metrics = server.metrics()
        assert 'updater_config_reloads_total{result="applied"} 1.0' in metrics
        assert 'updater_config_reloads_total{result="failed"} 2.0' in metrics
        assert "updater_config_last_reload_successful 0.0" in metrics
        assert len(reloads(server, "applied")) == 1
        assert server.process is not None and server.process.poll() is None
    assert server.process is None  # stopped cleanly by running()
    assert "Traceback" not in server.stderr()


def test_a_reload_during_a_delivery_waits_for_it_to_end(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    started, release = tmp_path / "push-started", tmp_path / "push-release"
    hook = remote.path / "hooks" / "pre-receive"
    # holds the push until the test lets it go (at most a minute, then refuses it)
    hook.write_text(
        "#!/bin/sh\n"
        f"touch '{started}'\n"
        "i=0\n"
        f"while [ ! -e '{release}' ]; do\n"
        "  i=$((i+1)); [ $i -gt 1200 ] && exit 1; sleep 0.05\n"
        "done\n"
    )
    hook.chmod(0o755)
    config = tmp_path / "updater.yaml"
    webhooks = "  debounce: 0s\n"
    config.write_text(config_text(semver("2.0.0"), webhooks, "delivery:\n  mode: push\n"))
    server = Server(tmp_path, config, remote.url, mode=[])  # the mode is the config's
    with running(server):
        server.start()
        server.push_event(f"{IMAGE}:1.2.0")
        poll_until(started.exists, "the push to reach the remote's hook")

        config.write_text(config_text(semver("2.0.0"), webhooks, "delivery:\n  mode: dry-run\n"))
        hangup(server)
        [accepted] = poll_until(lambda: reloads(server, "accepted"), "the new config read")
        assert accepted["busy"] is True
        release.touch()
        poll_until(lambda: reloads(server, "applied"), "the reload applied")
        server.push_event(f"{IMAGE}:1.3.0")
        poll_until(lambda: len(server.logs("delivery")) == 2, "the second delivery")
    lines = server.logs()
    kinds = [(line["kind"], line.get("result"), line.get("mode")) for line in lines]
    first = kinds.index(("delivery", "changed", "push"))
    assert kinds.index(("reload", "accepted", None)) < first  # read during the delivery,
    assert first < kinds.index(("reload", "applied", "dry-run"))  # applied after it
    second = kinds.index(("delivery", "changed", "dry-run"))
    assert second > first
    # the held delivery pushed under the old config, the next one only showed a diff
    assert len(remote.log()) == 2 and tag_on_remote(remote) == "1.2.0"
