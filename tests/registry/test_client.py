"""The registry client against the real CNCF registry: tags, pagination, digests,
creation times, auth (anonymous, Basic, token), retries and rate-limit headers."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.registry.conftest import (
    PASSWORD,
    USER,
    Sleeps,
    basic_auth_entry,
    client_for,
    docker_config,
)
from tests.registry.harness import Fault, FaultProxy
from tests.support.registry import Registry, TokenIssuer
from updater.registry import (
    MANIFEST_ACCEPT,
    AuthError,
    CredentialStore,
    NotFound,
    RegistryError,
    resolve_digest,
)
from updater.registry.hosts import RegistrySettings

pytestmark = pytest.mark.registry


def test_tags_across_pages_follow_relative_links(
    anon: Registry, proxy: FaultProxy, repo_name: str
) -> None:
    tags = [f"1.0.{n}" for n in range(11)]
    anon.push_image(repo_name, tags)
    proxy.page_size = 3
    with client_for(proxy.host, page_size=3) as client:
        assert sorted(client.list_tags(f"{proxy.host}/{repo_name}")) == sorted(tags)
    pages = [path for _, path, _ in proxy.seen if "tags/list" in path]
    assert pages[0].endswith("/tags/list?n=3") and len(pages) == 4
    assert pages[1].endswith("/tags/list?last=1.0.10&n=3")  # from the relative Link


def test_a_short_page_does_not_end_the_listing(
    anon: Registry, proxy: FaultProxy, repo_name: str
) -> None:
    anon.push_image(repo_name, ["a", "b", "c", "d", "e", "f"])
    proxy.page_size = 3
    proxy.faults.append(Fault("short", path="tags/list"))
    with client_for(proxy.host, page_size=3) as client:
        got = client.list_tags(f"{proxy.host}/{repo_name}")
    pages = [path for _, path, _ in proxy.seen if "tags/list" in path]
    assert len(pages) == 2
    assert got == ["a", "d", "e", "f"]


def test_missing_repository_is_a_clear_error(anon: Registry) -> None:
    with client_for(anon.host) as client, pytest.raises(NotFound, match="repository not found"):
        client.list_tags(f"{anon.host}/no/such-repo")


def test_digest_by_head_sends_the_full_accept_list(
    anon: Registry, proxy: FaultProxy, repo_name: str
) -> None:
    pushed = anon.push_image(repo_name, "1.0.0")
    with client_for(proxy.host) as client:
        assert client.digest(f"{proxy.host}/{repo_name}", "1.0.0") == pushed
    method, _, headers = next(s for s in proxy.seen if "/manifests/" in s[1])
    assert method == "HEAD"
    accept = headers["Accept"]
    for media_type in (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ):
        assert media_type in accept
    assert accept == MANIFEST_ACCEPT


def test_index_digests_and_creation_time_per_platform(anon: Registry, repo_name: str) -> None:
    digests = anon.push_index(
        repo_name,
        "2.0.0",
        {"linux/amd64": "2024-03-01T10:00:00Z", "linux/arm64": "2024-05-01T10:00:00.123456789Z"},
    )
    repository = f"{anon.host}/{repo_name}"
    with client_for(anon.host) as client:
        assert client.digest(repository, "2.0.0") == digests["index"]
        assert client.digest(repository, "2.0.0", platform="linux/arm64") == digests["linux/arm64"]
        assert client.created(repository, "2.0.0").isoformat() == "2024-03-01T10:00:00+00:00"  # type: ignore[union-attr]
        arm = client.created(repository, "2.0.0", platform="linux/arm64")
        assert arm is not None and arm.isoformat() == "2024-05-01T10:00:00.123456+00:00"
        with pytest.raises(
            NotFound, match=r"no linux/s390x image in the index \(it has linux/amd64, linux/arm64\)"
        ):
            client.created(repository, "2.0.0", platform="linux/s390x")


def test_resolve_digest_of_a_tag(anon: Registry, repo_name: str) -> None:
    pushed = anon.push_image(repo_name, "v3")
    settings = [RegistrySettings(anon.host, insecure=True)]
    assert resolve_digest(f"{anon.host}/{repo_name}", "v3", registries=settings) == pushed
    with pytest.raises(NotFound):
        resolve_digest(f"{anon.host}/{repo_name}", "v4", registries=settings)


# --------------------------------------------------------------------------- Basic auth


def test_basic_auth_from_docker_config(
    basic_registry: Registry, repo_name: str, isolated_credentials: Path
) -> None:
    basic_registry.push_image(repo_name, ["1", "2"])
    docker_config(
        isolated_credentials, {"auths": {f"http://{basic_registry.host}/v2/": basic_auth_entry()}}
    )
    with client_for(basic_registry.host) as client:
        assert sorted(client.list_tags(f"{basic_registry.host}/{repo_name}")) == ["1", "2"]


def test_basic_auth_refused_names_no_secret(
    basic_registry: Registry, repo_name: str, isolated_credentials: Path
) -> None:
    docker_config(
        isolated_credentials,
        {"auths": {basic_registry.host: basic_auth_entry(USER, "wrong-pw-123")}},
    )
    with client_for(basic_registry.host) as client, pytest.raises(AuthError) as caught:
        client.list_tags(f"{basic_registry.host}/{repo_name}")
    assert "refused access with the configured credentials (HTTP 401)" in str(caught.value)
    assert "wrong-pw-123" not in str(caught.value)


def test_basic_auth_without_credentials(basic_registry: Registry, repo_name: str) -> None:
    with (
        client_for(basic_registry.host) as client,
        pytest.raises(AuthError, match="requires credentials"),
    ):
        client.list_tags(f"{basic_registry.host}/{repo_name}")


def test_gitlab_docker_auth_config(
    basic_registry: Registry, repo_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    basic_registry.push_image(repo_name, "7")
    monkeypatch.setenv(
        "DOCKER_AUTH_CONFIG", json.dumps({"auths": {basic_registry.host: basic_auth_entry()}})
    )
    with client_for(basic_registry.host) as client:
        assert client.list_tags(f"{basic_registry.host}/{repo_name}") == ["7"]


def _helper(bin_dir: Path, name: str, username: str, secret: str) -> Path:
    bin_dir.mkdir(exist_ok=True)
    log = bin_dir / f"{name}.log"
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(
        "#!/bin/sh\n"
        f'read server; echo "$1 $server" >> {log}\n'
        f"printf '%s' '{json.dumps({'ServerURL': 'x', 'Username': username, 'Secret': secret})}'\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


def test_credential_helper(
    basic_registry: Registry,
    repo_name: str,
    isolated_credentials: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    basic_registry.push_image(repo_name, "9")
    log = _helper(tmp_path / "bin", "fake", USER, PASSWORD)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    docker_config(isolated_credentials, {"credHelpers": {basic_registry.host: "fake"}})
    with client_for(basic_registry.host) as client:
        assert client.list_tags(f"{basic_registry.host}/{repo_name}") == ["9"]
        client.list_tags(f"{basic_registry.host}/{repo_name}")
    assert log.read_text() == f"get {basic_registry.host}\n"  # asked once per run


def test_missing_credential_helper(
    basic_registry: Registry, repo_name: str, isolated_credentials: Path
) -> None:
    docker_config(isolated_credentials, {"credsStore": "nowhere-to-be-found"})
    with (
        client_for(basic_registry.host) as client,
        pytest.raises(AuthError, match=r"docker-credential-nowhere-to-be-found .* is not on PATH"),
    ):
        client.list_tags(f"{basic_registry.host}/{repo_name}")


# --------------------------------------------------------------------------- token auth


def test_token_auth_caches_one_token_per_scope(
    token_registry: Registry, issuer: TokenIssuer, repo_name: str, isolated_credentials: Path
) -> None:
    token_registry.push_image(repo_name, ["1.0.0", "1.1.0"])
    docker_config(isolated_credentials, {"auths": {token_registry.host: basic_auth_entry()}})
    before = len(issuer.requests)
    repository = f"{token_registry.host}/{repo_name}"
    with client_for(token_registry.host) as client:
        assert sorted(client.list_tags(repository)) == ["1.0.0", "1.1.0"]
        client.digest(repository, "1.1.0")
        client.created(repository, "1.0.0")
    asked = issuer.requests[before:]
    assert [(r["scope"], r["service"], r["user"]) for r in asked] == [
        (f"repository:{repo_name}:pull", "test-registry", USER)
    ]


def test_token_auth_with_identity_token(
    token_registry: Registry, issuer: TokenIssuer, repo_name: str, isolated_credentials: Path
) -> None:
    token_registry.push_image(repo_name, "5")
    docker_config(
        isolated_credentials, {"auths": {token_registry.host: {"identitytoken": "refresh-abc"}}}
    )
    before = len(issuer.requests)
    with client_for(token_registry.host) as client:
        assert client.list_tags(f"{token_registry.host}/{repo_name}") == ["5"]
    (asked,) = issuer.requests[before:]
    assert asked["method"] == "POST" and asked["grant_type"] == "refresh_token"
    assert asked["client_id"] == "gitops-updater"


def test_token_auth_refused_anonymously(token_registry: Registry, repo_name: str) -> None:
    with (
        client_for(token_registry.host) as client,
        pytest.raises(AuthError, match=r"token service 127.0.0.1:[0-9]+ refused anonymous access"),
    ):
        client.list_tags(f"{token_registry.host}/{repo_name}")


def test_insufficient_scope_is_challenged_again(
    token_registry: Registry, issuer: TokenIssuer, repo_name: str, isolated_credentials: Path
) -> None:
    token_registry.push_image(repo_name, "1")
    docker_config(isolated_credentials, {"auths": {token_registry.host: basic_auth_entry()}})
    scope = f"repository:{repo_name}:pull"
    issuer.stingy[scope] = 1  # the first token grants nothing
    before = len(issuer.requests)
    with client_for(token_registry.host) as client:
        assert client.list_tags(f"{token_registry.host}/{repo_name}") == ["1"]
    assert [r["scope"] for r in issuer.requests[before:]] == [scope, scope]


def test_insufficient_scope_for_good_fails_clearly(
    token_registry: Registry, issuer: TokenIssuer, repo_name: str, isolated_credentials: Path
) -> None:
    docker_config(isolated_credentials, {"auths": {token_registry.host: basic_auth_entry()}})
    issuer.stingy[f"repository:{repo_name}:pull"] = 5
    with (
        client_for(token_registry.host) as client,
        pytest.raises(
            AuthError, match=r"refused access with the configured credentials .*insufficient_scope"
        ),
    ):
        client.list_tags(f"{token_registry.host}/{repo_name}")


# --------------------------------------------------------------------------- retries


def test_429_with_retry_after_is_retried(anon: Registry, proxy: FaultProxy, repo_name: str) -> None:
    anon.push_image(repo_name, "1")
    proxy.faults.append(Fault("status", 429, {"Retry-After": "3"}, path="tags/list"))
    proxy.faults.append(Fault("status", 429, {"Retry-After": "0"}, path="tags/list"))
    sleeps = Sleeps()
    with client_for(proxy.host, sleeps=sleeps) as client:
        assert client.list_tags(f"{proxy.host}/{repo_name}") == ["1"]
    assert sleeps == [3.0, 0.0]


def test_server_errors_and_dropped_connections_back_off(
    anon: Registry, proxy: FaultProxy, repo_name: str
) -> None:
    anon.push_image(repo_name, "1")
    proxy.faults.extend(
        [
            Fault("status", 503, path="tags"),
            Fault("drop", path="tags"),
            Fault("status", 502, path="tags"),
        ]
    )
    sleeps = Sleeps()
    with client_for(proxy.host, sleeps=sleeps) as client:
        assert client.list_tags(f"{proxy.host}/{repo_name}") == ["1"]
    assert sleeps == [0.5, 1.0, 2.0]


def test_slow_answer_times_out_and_is_retried(
    anon: Registry, proxy: FaultProxy, repo_name: str
) -> None:
    anon.push_image(repo_name, "1")
    proxy.faults.append(Fault("slow", seconds=30, path="tags/list"))
    with client_for(proxy.host, timeout=(5.0, 0.5)) as client:
        assert client.list_tags(f"{proxy.host}/{repo_name}") == ["1"]
        assert client.transport.retries == 1


def test_retries_are_bounded(anon: Registry, proxy: FaultProxy, repo_name: str) -> None:
    proxy.faults.extend(Fault("status", 500, path="tags/list") for _ in range(4))
    sleeps = Sleeps()
    with (
        client_for(proxy.host, sleeps=sleeps) as client,
        pytest.raises(
            RegistryError, match=r"server error from 127.0.0.1:\d+ \(HTTP 500\) after 4 attempt"
        ),
    ):
        client.list_tags(f"{proxy.host}/{repo_name}")
    assert sleeps == [0.5, 1.0, 2.0]


def test_long_retry_after_fails_with_rate_limit_headers(
    anon: Registry, proxy: FaultProxy, repo_name: str
) -> None:
    proxy.extra_headers = {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "0;w=21600"}
    proxy.faults.append(Fault("status", 429, {"Retry-After": "3600"}, path="tags/list"))
    sleeps = Sleeps()
    with client_for(proxy.host, sleeps=sleeps) as client:
        with pytest.raises(
            RegistryError,
            match=r"rate limited .*retry after 3600s.*ratelimit-remaining 0;w=21600 of 100;w=21600",
        ):
            client.list_tags(f"{proxy.host}/{repo_name}")
        assert client.rate_limits[proxy.host].remaining == "0;w=21600"
    assert sleeps == []


def test_rate_limit_headers_are_reported(anon: Registry, proxy: FaultProxy, repo_name: str) -> None:
    anon.push_image(repo_name, "1")
    proxy.extra_headers = {"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "76;w=21600"}
    with client_for(proxy.host) as client:
        client.list_tags(f"{proxy.host}/{repo_name}")
        limit = client.rate_limits[proxy.host]
    assert (limit.limit, limit.remaining) == ("100;w=21600", "76;w=21600")


def test_credentials_file_errors_name_the_file(isolated_credentials: Path) -> None:
    (isolated_credentials / "config.json").write_text("{not json")
    with pytest.raises(AuthError, match=r"config.json: not valid JSON \(line 1\)"):
        CredentialStore().lookup("ghcr.io")
