from __future__ import annotations

import pytest

from updater.reference import (
    InvalidReference,
    familiar_name,
    normalise_name,
    parse,
    parse_change,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest", "repository"),
    [
        ("nginx", "nginx", None, None, "docker.io/library/nginx"),
        ("nginx:1.25", "nginx", "1.25", None, "docker.io/library/nginx"),
        (
            "docker.io/library/nginx:1",
            "docker.io/library/nginx",
            "1",
            None,
            "docker.io/library/nginx",
        ),
        (
            "index.docker.io/library/nginx",
            "index.docker.io/library/nginx",
            None,
            None,
            "docker.io/library/nginx",
        ),
        ("docker.io/nginx", "docker.io/nginx", None, None, "docker.io/library/nginx"),
        ("bitnami/redis:7", "bitnami/redis", "7", None, "docker.io/bitnami/redis"),
        ("localhost:5000/app:1", "localhost:5000/app", "1", None, "localhost:5000/app"),
        ("localhost/app", "localhost/app", None, None, "localhost/app"),
        (
            "127.0.0.1:30000/session:1.0.0",
            "127.0.0.1:30000/session",
            "1.0.0",
            None,
            "127.0.0.1:30000/session",
        ),
        ("[::1]:5000/app:v1", "[::1]:5000/app", "v1", None, "[::1]:5000/app"),
        ("ghcr.io/acme/api@" + DIGEST, "ghcr.io/acme/api", None, DIGEST, "ghcr.io/acme/api"),
        ("ghcr.io/acme/api:1.2@" + DIGEST, "ghcr.io/acme/api", "1.2", DIGEST, "ghcr.io/acme/api"),
        (
            "registry.example.com:443/a/b/c:x_Y.z-1",
            "registry.example.com:443/a/b/c",
            "x_Y.z-1",
            None,
            "registry.example.com:443/a/b/c",
        ),
        ("a__b/c--d.e_f:tag", "a__b/c--d.e_f", "tag", None, "docker.io/a__b/c--d.e_f"),
        (
            "Registry.Example.com/app:1",
            "Registry.Example.com/app",
            "1",
            None,
            "registry.example.com/app",  # the name keeps its spelling; the host is one
        ),
        ("quay.io/a/b:" + "t" * 128, "quay.io/a/b", "t" * 128, None, "quay.io/a/b"),
    ],
)
def test_valid_references(
    text: str, name: str, tag: str | None, digest: str | None, repository: str
) -> None:
    ref = parse(text)
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)
    assert ref.repository == repository
    assert str(ref) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("nginx 1.25", "white space"),
        ("nginx:1.25\n", "white space"),
        (" nginx", "white space"),
        ("Nginx:1", "lowercase"),
        ("acme/API:1", "lowercase"),
        ("nginx:" + "t" * 129, "longer than 128"),
        ("nginx:.bad", "bad tag"),
        ("nginx:-bad", "bad tag"),
        ("nginx:", "empty tag"),
        ("nginx@", "empty digest"),
        ("nginx@sha256:abc", "bad digest"),
        ("nginx@sha256:" + "a" * 63, "64 hex digits"),
        ("nginx@md5", "bad digest"),
        ("nginx:1@" + DIGEST + "@" + DIGEST, "more than one"),
        ("-bad/app:1", "bad repository"),
        ("acme//app", "bad repository"),
        ("acme/app/", "bad repository"),
        ("bad_host.com:port/app", "bad registry host"),
        ("a" * 256, "longer than 255"),
    ],
)
def test_invalid_references(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference, match=reason) as error:
        parse(text)
    assert repr(text)[:20].strip("'") in str(error.value) or text == ""


def test_normalisation_and_familiar_names() -> None:
    assert normalise_name("nginx") == normalise_name("docker.io/library/nginx")
    assert normalise_name("index.docker.io/library/nginx") == "docker.io/library/nginx"
    assert familiar_name("docker.io/library/nginx") == "nginx"
    assert familiar_name("docker.io/bitnami/redis") == "bitnami/redis"
    assert familiar_name("ghcr.io/acme/app") == "ghcr.io/acme/app"
    assert normalise_name("ghcr.io/acme/app") != normalise_name("ghcr.io/acme/app-worker")
    # a host is not case sensitive; a repository path is (and must be lower case)
    assert normalise_name("GHCR.io/acme/app") == "ghcr.io/acme/app"
    assert normalise_name("Docker.IO/library/nginx") == "docker.io/library/nginx"
    assert normalise_name("Index.Docker.io/nginx") == "docker.io/library/nginx"
    assert normalise_name("REGISTRY.local:5000/app") == "registry.local:5000/app"


@pytest.mark.parametrize(
    ("text", "repository", "tag", "digest", "new_name"),
    [
        ("nginx:1.26", "docker.io/library/nginx", "1.26", None, None),
        ("nginx@" + DIGEST, "docker.io/library/nginx", None, DIGEST, None),
        ("nginx:1.26@" + DIGEST, "docker.io/library/nginx", "1.26", DIGEST, None),
        ("nginx=ghcr.io/acme/nginx:2", "docker.io/library/nginx", "2", None, "ghcr.io/acme/nginx"),
        ("nginx=ghcr.io/acme/nginx", "docker.io/library/nginx", None, None, "ghcr.io/acme/nginx"),
        ("nginx=nginx:2", "docker.io/library/nginx", "2", None, None),
        (
            "nginx=ghcr.io/acme/nginx@" + DIGEST,
            "docker.io/library/nginx",
            None,
            DIGEST,
            "ghcr.io/acme/nginx",
        ),
    ],
)
def test_change_forms(
    text: str, repository: str, tag: str | None, digest: str | None, new_name: str | None
) -> None:
    change = parse_change(text)
    assert (change.repository, change.tag, change.digest, change.new_name) == (
        repository,
        tag,
        digest,
        new_name,
    )


@pytest.mark.parametrize(
    "text", ["nginx", "nginx:1=ghcr.io/x:1", "=nginx:1", "nginx=", "nginx=nginx", "UP:1"]
)
def test_bad_changes(text: str) -> None:
    with pytest.raises(InvalidReference):
        parse_change(text)
