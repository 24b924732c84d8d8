"""Every source's payload through the running server, as its registry sends it: valid
authentication gives 202 and the events the source reads, a wrong or missing one 401
with nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve.server import Server, config_text, overlay_remote, running
from tests.serve.test_sources import SECRET, SECRETS, unsigned, valid_request
from updater.serve.sources import SOURCES, Incoming, read_events


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp: Path = tmp_path_factory.mktemp("sources")
    remote = overlay_remote(tmp / "remote.git", "registry.acme.test/acme/api", "1.0")
    config = tmp / "updater.yaml"
    # debounce of an hour: the events stay queued, so the counts below are the 202s' own
    config.write_text(
        config_text(
            "  - name: registry.acme.test/acme/api\n    policy: semver\n", "  debounce: 1h\n"
        )
    )
    serving = Server(tmp, config, remote.url, env={"UPDATER_WEBHOOK_SECRET": SECRET})
    with running(serving):
        yield serving.start()


def post(server: Server, incoming: Incoming) -> tuple[int, dict[str, object]]:
    answer = server.post(incoming.source, incoming.body, incoming.headers, incoming.query)
    return answer.status_code, answer.json()


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_each_source_through_the_server(server: Server, source: str) -> None:
    before = server.state()["counts"]
    incoming = valid_request(source)
    expected = read_events(incoming, SECRETS, max_body=1 << 20)
    status, body = post(server, incoming)
    assert status == 202, body
    assert body["accepted"] == len(expected) >= 1
    wrong_status, wrong = post(server, valid_request(source, secret="not-the-secret"))
    missing_status, missing = post(server, unsigned(incoming))
    assert (wrong_status, missing_status) == (401, 401)
    assert "not-the-secret" not in str(wrong) and SECRET not in str(missing)
    after = server.state()["counts"]
    stored = sum(after.values()) - sum(before.values())
    assert stored == len(expected)
    assert f'updater_webhook_events_accepted_total{{source="{source}"}}' in server.metrics()
