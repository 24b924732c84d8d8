"""The registry client against hosts that misbehave on purpose: links and redirects
to another host, challenges from it, plain-http realms, slow, endless, huge and
malformed answers. Every test asserts on what every host received."""

from __future__ import annotations

import base64
import itertools
import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.registry.conftest import PASSWORD, USER, Sleeps, basic_auth_entry, docker_config
from tests.registry.harness import Answer, HostileHost, Seen, start_hostile
from updater import deadline
from updater.cli import cli
from updater.registry import (
    AuthError,
    CredentialStore,
    RegistryClient,
    RegistryError,
    RegistrySettings,
    RetryPolicy,
)
from updater.registry.client import Limits

pytestmark = pytest.mark.registry

REPO = "t/app"
HOME_TOKEN = "home-token-0123456789"
SECRETS = (PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(), HOME_TOKEN)
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def home() -> Iterator[HostileHost]:
    host, _ = start_hostile()
    yield host
    host.stop()


@pytest.fixture
def foreign() -> Iterator[HostileHost]:
    host, _ = start_hostile()
    yield host
    host.stop()


@pytest.fixture
def credentials(home: HostileHost, isolated_credentials: Path) -> None:
    docker_config(isolated_credentials, {"auths": {home.host: basic_auth_entry()}})


def client(*hosts: str, limits: Limits | None = None, **retry: float) -> RegistryClient:
    policy = RetryPolicy(sleep=Sleeps(), **retry)  # type: ignore[arg-type]
    settings = [RegistrySettings(h, insecure=True) for h in hosts]
    return RegistryClient(settings, retry=policy, limits=limits, credentials=CredentialStore())


def assert_clean(host: HostileHost) -> None:
    """Nothing secret reached ``host``: no Authorization at all, no password, no token."""
    received = host.received()
    assert "authorization" not in received.lower()
    for secret in SECRETS:
        assert secret not in received


def basic_only(answer: Answer) -> object:
    """A route that wants the test's Basic credentials, then gives ``answer``."""
    wanted = "Basic " + SECRETS[1]

    def route(seen: Seen, host: HostileHost) -> Answer:
        if seen.headers.get("Authorization") != wanted:
            return Answer(401, {"WWW-Authenticate": 'Basic realm="home"'})
        return answer

    return route


def bearer_only(home: HostileHost, answer: Answer) -> object:
    """The home host's own token service and a route that wants its token."""
    home.route(
        "/token",
        lambda seen, host: (
            Answer(200, body=json.dumps({"token": HOME_TOKEN}).encode())
            if seen.headers.get("Authorization") == "Basic " + SECRETS[1]
            else Answer(401)
        ),
    )
    challenge = f'Bearer realm="{home.url}/token",service="home",scope="repository:{REPO}:pull"'

    def route(seen: Seen, host: HostileHost) -> Answer:
        if seen.headers.get("Authorization") != f"Bearer {HOME_TOKEN}":
            return Answer(401, {"WWW-Authenticate": challenge})
        return answer

    return route


def one_line(error: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(error.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_a_link_to_another_host_carries_no_credentials(
    home: HostileHost, foreign: HostileHost, credentials: None, scheme: str
) -> None:
    page = Answer(
        200,
        {"Link": f'<{foreign.url}/v2/{REPO}/tags/list?last=1.0.0>; rel="next"'},
        b'{"name": "t/app", "tags": ["1.0.0"]}',
    )
    route = basic_only(page) if scheme == "basic" else bearer_only(home, page)
    home.route(f"/v2/{REPO}/tags/list", route)  # type: ignore[arg-type]
    foreign.route(f"/v2/{REPO}/tags/list", Answer(200, body=b'{"tags": ["2.0.0"]}'))
    with client(home.host) as c:
        assert c.list_tags(f"{home.host}/{REPO}") == ["1.0.0", "2.0.0"]
    assert any("Authorization" in s.headers for s in home.seen)  # home did get them
    assert len(foreign.seen) == 1
    assert_clean(foreign)


def test_a_redirect_to_another_host_answers_its_challenge_anonymously(
    home: HostileHost, foreign: HostileHost, credentials: None
) -> None:
    home.route(
        f"/v2/{REPO}/manifests/1.0.0",
        basic_only(Answer(307, {"Location": f"{foreign.url}/cdn/manifest"})),  # type: ignore[arg-type]
    )
    home.route(f"/v2/{REPO}/tags/list", basic_only(Answer(200, body=b'{"tags": ["1.0.0"]}')))  # type: ignore[arg-type]
    foreign.route("/token", Answer(200, body=b'{"token": "foreign-token"}'))
    foreign.route(
        "/cdn/manifest",
        lambda seen, host: (
            Answer(200, {"Docker-Content-Digest": DIGEST})
            if seen.headers.get("Authorization") == "Bearer foreign-token"
            else Answer(
                401, {"WWW-Authenticate": f'Bearer realm="{foreign.url}/token",service="x"'}
            )
        ),
    )
    with client(home.host) as c:
        assert c.digest(f"{home.host}/{REPO}", "1.0.0") == DIGEST
        # the foreign realm is not taken for home's: home still gets its own credentials
        assert c.list_tags(f"{home.host}/{REPO}") == ["1.0.0"]
        assert all(key[0] != home.host for key in c.tokens._tokens)
    token_requests = [s for s in foreign.seen if s.path.startswith("/token")]
    assert len(token_requests) == 1
    foreign_text = foreign.received().replace("Authorization: Bearer foreign-token", "")
    assert "authorization" not in foreign_text.lower()
    for secret in SECRETS:
        assert secret not in foreign.received()
    assert home.seen[-1].headers["Authorization"] == "Basic " + SECRETS[1]
    assert "foreign-token" not in home.received()


def test_a_password_challenge_from_another_host_is_a_clear_error(
    home: HostileHost, foreign: HostileHost, credentials: None
) -> None:
    home.route(
        f"/v2/{REPO}/manifests/1.0.0",
        basic_only(Answer(302, {"Location": f"{foreign.url}/v2/{REPO}/manifests/1.0.0"})),  # type: ignore[arg-type]
    )
    foreign.route(
        f"/v2/{REPO}/manifests/1.0.0", Answer(401, {"WWW-Authenticate": 'Basic realm="x"'})
    )
    with client(home.host) as c, pytest.raises(AuthError) as error:
        c.digest(f"{home.host}/{REPO}", "1.0.0")
    assert "credentials are never sent to another host" in one_line(error)
    assert len(foreign.seen) == 1
    assert_clean(foreign)


def test_a_plain_http_realm_of_an_https_registry_is_refused(
    foreign: HostileHost,
    tmp_path: Path,
    isolated_credentials: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secure, cert = start_hostile(tmp_path / "tls")
    try:
        assert cert is not None
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        docker_config(isolated_credentials, {"auths": {secure.host: basic_auth_entry()}})
        realm = f'Bearer realm="{foreign.url}/token",service="x"'
        secure.route(f"/v2/{REPO}/tags/list", Answer(401, {"WWW-Authenticate": realm}))
        foreign.route("/token", Answer(200, body=b'{"token": "t"}'))
        https_only = RegistryClient(retry=RetryPolicy(sleep=Sleeps()))  # not insecure
        with https_only as c, pytest.raises(AuthError) as error:
            c.list_tags(f"{secure.host}/{REPO}")
        assert "plain-http token realm" in one_line(error)
        assert foreign.seen == []  # not even an anonymous request
        # a redirect down to plain http is refused the same way
        secure.route(f"/v2/{REPO}/manifests/1", Answer(302, {"Location": f"{foreign.url}/x"}))
        https_only = RegistryClient(retry=RetryPolicy(sleep=Sleeps()))
        with https_only as c, pytest.raises(RegistryError, match="plain-http"):
            c.digest(f"{secure.host}/{REPO}", "1")
        assert foreign.seen == []
        assert all("Authorization" not in s.headers for s in secure.seen)
    finally:
        secure.stop()


def test_an_https_client_names_a_plain_http_registry_and_how_to_allow_it(
    home: HostileHost,
) -> None:
    home.route(f"/v2/{REPO}/tags/list", Answer(200, body=b'{"tags": []}'))
    with (
        RegistryClient(retry=RetryPolicy(sleep=Sleeps())) as c,
        pytest.raises(RegistryError) as error,
    ):
        c.list_tags(f"{home.host}/{REPO}")
    text = one_line(error)
    assert f"{home.host} answered on plain http" in text
    assert "insecure: true" in text and "UPDATER_INSECURE_REGISTRIES" in text


# --------------------------------------------------------------------------- bounds


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_slow_loris_ends_at_the_request_deadline(home: HostileHost, where: str) -> None:
    endless = itertools.repeat(b" ")
    answer = Answer(200, body=endless, drip=0.02, drip_headers=where == "headers")
    home.route(f"/v2/{REPO}/tags/list", answer)
    with client(home.host, deadline=0.5) as c, pytest.raises(RegistryError) as error:
        c.list_tags(f"{home.host}/{REPO}")
    assert "did not answer in full within 0.5 s" in one_line(error)


def test_the_run_deadline_bounds_a_slow_loris(home: HostileHost) -> None:
    home.route(f"/v2/{REPO}/tags/list", Answer(200, body=itertools.repeat(b" "), drip=0.02))
    deadline.start(0.4)
    try:
        with client(home.host) as c, pytest.raises(RegistryError) as error:
            c.list_tags(f"{home.host}/{REPO}")
    finally:
        deadline.start(None)
    # the request gets what is left of the run, which is 0.4 s less whatever went before
    found = re.search(r"within ([0-9.]+) s \(what was left of the run\)", one_line(error))
    assert found is not None, one_line(error)
    assert 0 < float(found[1]) <= 0.4


def test_retry_after_counts_against_the_run_deadline(home: HostileHost) -> None:
    home.route(f"/v2/{REPO}/tags/list", Answer(429, {"Retry-After": "30"}))
    deadline.start(5)
    try:
        with client(home.host) as c, pytest.raises(RegistryError) as error:
            c.list_tags(f"{home.host}/{REPO}")
        sleeps = c.transport.retry.sleep
    finally:
        deadline.start(None)
    assert "asks to retry in 30 s, past the deadline" in one_line(error)
    assert sleeps == [] and len(home.seen) == 1


def test_endless_pagination_stops_at_the_page_limit(home: HostileHost) -> None:
    def page(seen: Seen, host: HostileHost) -> Answer:
        number = len(host.seen)
        link = f'</v2/{REPO}/tags/list?last=p{number}>; rel="next"'
        return Answer(200, {"Link": link}, json.dumps({"tags": [f"p{number}"]}).encode())

    home.route(f"/v2/{REPO}/tags/list", page)
    with client(home.host, limits=Limits(max_pages=5)) as c, pytest.raises(RegistryError) as error:
        c.list_tags(f"{home.host}/{REPO}")
    assert "more than 5 pages" in one_line(error)
    assert len(home.seen) == 5
    assert Limits().max_pages <= 1000


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_huge_tag_list_is_a_one_line_error(home: HostileHost, declared: bool) -> None:
    gib = 1024**3
    chunk = b'"1.0.0",' * (1024 * 1024 // 8)

    def huge() -> Iterator[bytes]:
        yield b'{"tags": ['
        for _ in range(gib // len(chunk)):
            yield chunk

    home.route(f"/v2/{REPO}/tags/list", Answer(200, body=huge(), length=gib if declared else None))
    with client(home.host) as c, pytest.raises(RegistryError) as error:
        c.list_tags(f"{home.host}/{REPO}")
    assert "larger than 8 MiB" in one_line(error)
    assert home.sent_bytes < 128 * 1024 * 1024  # it stopped reading long before 1 GB


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    "body",
    [b'{"tags": 5}', b'{"tags": [1, 2]}', b'{"tags": {"a": 1}}', b"[]", b"not json", b"\xff"],
)
def test_a_malformed_tag_list_is_a_one_line_error(home: HostileHost, body: bytes) -> None:
    home.route(f"/v2/{REPO}/tags/list", Answer(200, body=body))
    with client(home.host) as c, pytest.raises(RegistryError) as error:
        c.list_tags(f"{home.host}/{REPO}")
    assert f"listing tags of {home.host}/{REPO}" in one_line(error)


@pytest.mark.parametrize(
    "junk", ["sha256:../../etc/passwd", "md5:0123", "sha256:" + "AB" * 32, "sha256:abc", "x"]
)
def test_a_junk_digest_is_refused(home: HostileHost, junk: str) -> None:
    home.route(f"/v2/{REPO}/manifests/1.0.0", Answer(200, {"Docker-Content-Digest": junk}))
    with client(home.host) as c, pytest.raises(RegistryError) as error:
        c.digest(f"{home.host}/{REPO}", "1.0.0")
    assert "is not a valid digest" in one_line(error)


def test_an_index_entry_without_a_digest_is_refused(home: HostileHost) -> None:
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"platform": {"os": "linux", "architecture": "amd64"}}],
    }
    home.route(f"/v2/{REPO}/manifests/1.0.0", Answer(200, body=json.dumps(index).encode()))
    with client(home.host) as c:
        with pytest.raises(RegistryError) as error:
            c.digest(f"{home.host}/{REPO}", "1.0.0", platform="linux/amd64")
        assert "linux/amd64 entry: no digest" in one_line(error)
        with pytest.raises(RegistryError):
            c.created(f"{home.host}/{REPO}", "1.0.0")


def test_poll_goes_on_past_malformed_answers_and_writes_nothing_invalid(
    home: HostileHost, tmp_path: Path
) -> None:
    home.route("/v2/t/bad/tags/list", Answer(200, body=b'{"tags": 5}'))
    home.route("/v2/t/junk/tags/list", Answer(200, body=b'{"tags": ["1.0.0", "2.0.0"]}'))
    home.route("/v2/t/junk/manifests/2.0.0", Answer(200, {"Docker-Content-Digest": "sha256:zz"}))
    home.route("/v2/t/good/tags/list", Answer(200, body=b'{"tags": ["1.0.0", "1.1.0"]}'))
    repo = tmp_path / "repo"
    repo.mkdir()
    files = {
        "bad.yaml": f"image: {home.host}/t/bad:1.0.0\n",
        "junk.yaml": f"image: {home.host}/t/junk:1.0.0@{DIGEST}\n",
        "good.yaml": f"image: {home.host}/t/good:1.0.0\n",
    }
    for name, text in files.items():
        (repo / name).write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n"
            f"    - name: x\n      {text}"
        )
    before = {name: (repo / name).read_text() for name in files}
    (repo / ".image-updater.yaml").write_text(
        textwrap.dedent(
            f"""\
            images:
              - {{name: {home.host}/t/bad, policy: semver}}
              - {{name: {home.host}/t/junk, policy: semver, pin-digest: true}}
              - {{name: {home.host}/t/good, policy: semver}}
            registries:
              - {{host: {home.host}, insecure: true}}
            """
        )
    )
    result = CliRunner().invoke(cli, ["poll", "--repo", str(repo), "--write"])
    assert result.exit_code != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("updater: error:")]
    assert any(f"{home.host}/t/bad" in line and "malformed tag list" in line for line in errors)
    assert any(f"{home.host}/t/junk" in line and "not a valid digest" in line for line in errors)
    assert "Traceback" not in result.output
    assert (repo / "bad.yaml").read_text() == before["bad.yaml"]
    assert (repo / "junk.yaml").read_text() == before["junk.yaml"]
    assert "t/good:1.1.0" in (repo / "good.yaml").read_text()
