"""``updater serve`` end to end without a registry: the generic source (as a CI job
sends it) through the queue and the worker to a commit on a bare remote; the
endpoints, the refusals, the JSON log and ``--status``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.serve.server import (
    SECRET,
    Server,
    config_text,
    generic,
    overlay_remote,
    poll_until,
    running,
    signed,
)
from tests.support.remotes import Remote, git

IMAGE = "registry.acme.test/acme/api"
DIGEST = "sha256:" + "4c" * 32


def make_remote(tmp_path: Path, tag: str = "1.0.0") -> Remote:
    return overlay_remote(tmp_path / "remote.git", IMAGE, tag)


def write_config(tmp_path: Path, images: str, webhooks: str = "") -> Path:
    path = tmp_path / "updater.yaml"
    path.write_text(config_text(images, webhooks))
    return path


SEMVER = f"  - name: {IMAGE}\n    policy: semver\n    range: '>=1.0.0 <2.0.0'\n"


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return make_remote(tmp_path)


@pytest.fixture
def server(tmp_path: Path, remote: Remote) -> Iterator[Server]:
    config = write_config(tmp_path, SEMVER, "  debounce: 0s\n")
    serving = Server(tmp_path, config, remote.url)
    with running(serving):
        yield serving.start()


def tag_on_remote(remote: Remote) -> str:
    text = git("show", f"{remote.branch}:apps/api/kustomization.yaml", cwd=remote.path)
    found = re.search(r'newTag: "?([^"\n]+)', text)
    assert found, text
    return found.group(1)


def test_a_pushed_tag_becomes_a_commit_on_the_remote(server: Server, remote: Remote) -> None:
    response = server.push_event(f"{IMAGE}:1.2.0", DIGEST)
    assert response.json()["accepted"] == 1
    poll_until(lambda: len(remote.log()) == 2, "the commit on the remote")
    assert tag_on_remote(remote) == "1.2.0"
    message = remote.message()
    assert "Image-Updater-Trigger: serve policy=semver" in message
    delivered = poll_until(
        lambda: [e for e in server.logs("event") if e.get("state") == "delivered"], "the log"
    )
    assert delivered[0]["commit"] == remote.log()[0]
    [delivery] = server.logs("delivery")
    assert delivery["result"] == "changed" and delivery["commit"] == remote.log()[0]
    metrics = server.metrics()
    assert 'updater_deliveries_total{result="changed"} 1.0' in metrics
    assert 'updater_webhook_events_accepted_total{source="generic"} 1.0' in metrics
    assert "updater_event_to_delivery_seconds_count 1.0" in metrics
    assert "updater_queue_depth 0.0" in metrics
    counts = server.state()["counts"]
    assert counts["delivered"] == 1 and counts["queued"] == 0


def test_health_and_readiness(server: Server) -> None:
    assert server.session.get(f"{server.url}/healthz").text == "ok\n"
    assert server.session.get(f"{server.url}/readyz").status_code == 200
    assert (
        server.session.get(f"{server.url}/metrics").headers["content-type"].startswith("text/plain")
    )


def test_refusals_queue_nothing(server: Server, remote: Remote) -> None:
    body = generic(f"{IMAGE}:1.3.0")
    unsigned = server.post("generic", body)
    assert unsigned.status_code == 401
    wrong = server.post("generic", body, {"X-Signature": signed(body, "not-the-secret")})
    assert wrong.status_code == 401
    garbage = b"\x00{not json"
    bad = server.post("generic", garbage, {"X-Signature": signed(garbage)})
    assert bad.status_code == 400 and "\n" not in bad.json()["error"]
    huge = b"{" + b" " * (1024 * 1024 + 1) + b"}"
    assert server.post("generic", huge, {"X-Signature": signed(huge)}).status_code == 413
    assert server.post("nosuch", body).status_code == 404
    for response in (unsigned, wrong, bad):
        assert "Traceback" not in response.text
    metrics = server.metrics()
    assert 'updater_webhook_events_rejected_total{reason="unauthorized",source="generic"} 2.0' in (
        metrics
    )
    assert 'reason="too-large",source="generic"} 1.0' in metrics
    assert 'reason="bad-request",source="generic"} 1.0' in metrics
    assert 'reason="unknown-source",source="unknown"} 1.0' in metrics
    assert server.state()["counts"] == {
        "queued": 0, "waiting": 0, "delivered": 0, "ignored": 0, "duplicate": 0, "failed": 0,
    }  # fmt: skip
    assert len(remote.log()) == 1
    assert "Traceback" not in server.stderr()


def test_a_tag_outside_the_policy_changes_nothing(server: Server, remote: Remote) -> None:
    server.push_event(f"{IMAGE}:2.0.0", DIGEST)
    server.push_event(f"{IMAGE}:1.5.0-rc.1")
    ignored = poll_until(
        lambda: len(rows := server.state()["counts"]) and rows["ignored"] == 2, "two ignored"
    )
    assert ignored
    reasons = [e["reason"] for e in server.logs("event") if e.get("state") == "ignored"]
    assert any("outside the range" in r for r in reasons), reasons
    assert len(remote.log()) == 1
    assert 'updater_webhook_events_ignored_total{reason="policy"} 2.0' in server.metrics()


def test_an_unknown_image_and_an_older_tag_are_ignored(tmp_path: Path) -> None:
    remote = make_remote(tmp_path, tag="1.4.0")
    config = write_config(tmp_path, SEMVER, "  debounce: 0s\n")
    server = Server(tmp_path, config, remote.url)
    with running(server):
        server.start()
        server.push_event("registry.acme.test/acme/other:1.2.0")
        server.push_event(f"{IMAGE}:1.3.0")
        poll_until(lambda: server.state()["counts"]["ignored"] == 2, "two ignored")
        reasons = sorted(e["reason"] for e in server.logs("event") if e.get("state") == "ignored")
        assert "matches no image" in reasons[1] or "matches no image" in reasons[0]
        assert any("newer than the policy's best 1.3.0" in r for r in reasons), reasons
    assert len(remote.log()) == 1


def test_duplicates_by_event_id_and_content(server: Server, remote: Remote) -> None:
    first = server.push_event(f"{IMAGE}:1.2.0", DIGEST, event_id="ci-42").json()
    again = server.push_event(f"{IMAGE}:1.2.1", event_id="ci-42").json()
    same = server.push_event(f"{IMAGE}:1.2.0", DIGEST).json()
    assert first["duplicates"] == 0 and again["duplicates"] == 1 and same["duplicates"] == 1
    poll_until(lambda: len(remote.log()) == 2, "one commit")
    assert tag_on_remote(remote) == "1.2.0"
    assert server.state()["counts"]["duplicate"] == 2


def test_sigterm_delivers_the_open_window_and_exits_0(tmp_path: Path, remote: Remote) -> None:
    config = write_config(tmp_path, SEMVER, "  debounce: 1h\n")
    server = Server(tmp_path, config, remote.url)
    with running(server):
        server.start()
        server.push_event(f"{IMAGE}:1.2.0")
        assert server.stop() == 0
    assert len(remote.log()) == 2 and tag_on_remote(remote) == "1.2.0"
    assert server.state()["counts"]["delivered"] == 1
    kinds = [line["kind"] for line in server.logs()]
    assert kinds[-1] == "stop" and "flush" in kinds


def test_status_after_sigkill_shows_the_queue(tmp_path: Path, remote: Remote) -> None:
    config = write_config(tmp_path, SEMVER, "  debounce: 1h\n")
    server = Server(tmp_path, config, remote.url)
    with running(server):
        server.start()
        server.push_event(f"{IMAGE}:1.2.0")
        server.kill()
    status = server.status()
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("queued 1 waiting 0 delivered 0")
    assert '#1 generic "registry.acme.test/acme/api:1.2.0"' in status.stdout
    assert server.state()["counts"]["queued"] == 1
    assert len(remote.log()) == 1


def test_bad_webhooks_config_is_one_line_naming_the_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "updater.yaml"
    config.write_text(config_text(SEMVER, "  debounse: 2s\n"))
    done = subprocess.run(
        [sys.executable, "-m", "updater", "serve", "--config", str(config), "--listen",
         "127.0.0.1:0", "--state-dir", str(tmp_path / "s")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"updater: error: {config}:7: webhooks.debounse: unknown key (did you mean 'debounce'?)"
    ]
    assert not (tmp_path / "s").exists()
    assert SECRET not in done.stderr


def test_without_a_mode_it_logs_the_diff_and_writes_nothing(tmp_path: Path, remote: Remote) -> None:
    config = write_config(tmp_path, SEMVER, "  debounce: 0s\n")
    server = Server(tmp_path, config, remote.url, mode=())
    with running(server):
        server.start()
        server.push_event(f"{IMAGE}:1.2.0")
        [delivery] = poll_until(lambda: server.logs("delivery"), "the delivery line")
    assert delivery["mode"] == "dry-run" and delivery["result"] == "changed"
    assert '-    newTag: "1.0.0"\n+    newTag: "1.2.0"' in delivery["diff"]
    assert "commit" not in delivery
    assert len(remote.log()) == 1


def test_an_oversized_chunked_body_is_refused_while_reading(server: Server) -> None:
    """No Content-Length: the server counts as it reads and stops at max-body."""

    def chunks() -> Iterator[bytes]:
        yield b'{"image": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    answer = server.session.post(
        f"{server.url}/hooks/generic", data=chunks(), headers={"X-Signature": "sha256=00"},
        timeout=60,
    )  # fmt: skip
    assert answer.status_code == 413
    assert answer.json() == {"error": "body over max-body (1048576 bytes)"}
    assert server.state()["counts"]["queued"] == 0


def answer(server: Server, path: str) -> tuple[int, str] | None:
    """The server's status and text at ``path``, or None while nothing listens yet (a
    tuple, since a 503 ``Response`` is false and would read as no answer)."""
    try:
        got = server.session.get(f"{server.url}{path}", timeout=5)
    except requests.ConnectionError:
        return None
    return got.status_code, got.text


def test_not_ready_while_the_config_repo_cannot_be_reached(tmp_path: Path) -> None:
    config = write_config(tmp_path, SEMVER)
    missing = (tmp_path / "nowhere.git").as_uri()
    server = Server(tmp_path, config, missing)
    with running(server):
        server.start(ready=False)
        poll_until(lambda: server.logs("not-ready"), "the start-up check")
        # the check runs beside the listener's start-up, and may log before it listens
        status, text = poll_until(lambda: answer(server, "/readyz"), "the listener")
        assert status == 503
        assert text.startswith(f"not ready: cannot reach {missing}: fatal: ")
        assert "does not appear to be a git repository" in text
        assert server.session.get(f"{server.url}/healthz").status_code == 200
        # events are still taken and kept while not ready
        assert server.push_event(f"{IMAGE}:1.2.0").json()["accepted"] == 1


def test_the_web_stack_is_loaded_only_by_serve() -> None:
    import subprocess
    import sys

    probe = (
        "import sys; from updater.cli import cli; from click.testing import CliRunner;"
        " CliRunner().invoke(cli, ['serve', '--help']);"
        " print(sorted(m for m in ('starlette', 'uvicorn', 'prometheus_client', 'sqlite3')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
