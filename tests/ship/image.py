"""The container image, built offline once per test session and cached on its inputs.

buildah builds and podman runs it, in a containers store of the tests' own (never
/etc/containers): a Debian base made by mmdebstrap and imported once, the wheels of the
project and its dependencies in dist/ of a copy of the source tree, no network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.ship.artifacts import (
    TEST_VERSION,
    cache_root,
    cached,
    dependency_wheelhouse,
    git,
    locked,
    project_wheel,
    run,
    tagged_snapshot,
)

TOOLS = ("buildah", "podman", "runc", "mmdebstrap")
BASE_SUITE = "bookworm"
BASE_PACKAGES = "python3,python3-venv,git,ca-certificates"
# Locales, documentation and manual pages are left out, as slim base images do.
BASE_OPTIONS = (
    "--variant=minbase",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-include=/usr/share/locale/locale.alias",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
)
BASE_IMAGE = f"localhost/debian-min:{BASE_SUITE}"
IMAGE_NAME = "localhost/gitops-updater"
STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{root}/storage"
runroot = "{root}/run"
"""
# runc: crun refuses these machines' hybrid cgroups; the default ulimits are not
# permitted here.
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""
REGISTRIES_CONF = """\
unqualified-search-registries = []
short-name-mode = "disabled"
"""


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


@dataclass(frozen=True)
class Containers:
    """podman and buildah pointed at the tests' own store and settings."""

    root: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(self.root / "home"),
            "LANG": "C.UTF-8",
            "CONTAINERS_STORAGE_CONF": str(self.root / "storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(self.root / "registries.conf"),
            "CONTAINERS_CONF": str(self.root / "containers.conf"),
            "TMPDIR": str(self.root / "tmp"),
        }

    def podman(self, *args: str, timeout: float = 300) -> str:
        return run(["podman", *args], env=self.env, timeout=timeout)

    def buildah(self, *args: str, timeout: float = 600) -> str:
        return run(["buildah", *args], env=self.env, timeout=timeout)

    def exists(self, image: str) -> bool:

        return (
            subprocess.run(
                ["podman", "image", "exists", image], env=self.env, check=False, timeout=60
            ).returncode
            == 0
        )

    def inspect(self, image: str) -> dict[str, object]:
        (data,) = json.loads(self.podman("image", "inspect", image))
        return data  # type: ignore[no-any-return]


def containers() -> Containers:
    root = cache_root() / "containers"
    for name in ("home", "tmp"):
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "storage.conf").write_text(STORAGE_CONF.format(root=root), encoding="utf-8")
    (root / "containers.conf").write_text(CONTAINERS_CONF, encoding="utf-8")
    (root / "registries.conf").write_text(REGISTRIES_CONF, encoding="utf-8")
    return Containers(root)


def base_tarball() -> Path:
    """A minimal Debian with python3 and git, from the Debian mirror (cached: ~2 min)."""
    args = [f"--include={BASE_PACKAGES}", *BASE_OPTIONS, "--format=tar"]
    key = hashlib.sha256("\n".join([BASE_SUITE, *args]).encode()).hexdigest()[:16]

    def build(directory: Path) -> None:
        run(["mmdebstrap", "--quiet", *args, BASE_SUITE, str(directory / "base.tar")], timeout=900)

    return cached("debian-min", key, build) / "base.tar"


def base_image(store: Containers) -> str:
    tarball = base_tarball()
    # The tag names the tarball, so a changed base is imported again.
    tag = f"{BASE_IMAGE}-{tarball.parent.name.rpartition('-')[2]}"
    with locked("base-image"):
        if not store.exists(tag):
            store.podman("import", "--quiet", str(tarball), tag, timeout=600)
            store.podman("tag", tag, BASE_IMAGE)
    return tag


def build_context() -> tuple[Path, str]:
    """The tagged source tree with every wheel in dist/; and a key for its contents."""
    snapshot = tagged_snapshot()
    wheel = project_wheel()
    wheelhouse = dependency_wheelhouse()
    key = hashlib.sha256(f"{snapshot.name}\n{wheelhouse.name}".encode()).hexdigest()[:16]

    def build(directory: Path) -> None:
        shutil.copytree(snapshot, directory / "src", ignore=shutil.ignore_patterns(".git"))
        dist = directory / "src" / "dist"
        dist.mkdir()
        for path in [wheel, *wheelhouse.glob("*.whl")]:
            shutil.copy2(path, dist / path.name)

    return cached("context", key, build) / "src", key


@dataclass(frozen=True)
class BuiltImage:
    store: Containers
    name: str
    revision: str


def updater_image() -> BuiltImage:
    """``localhost/gitops-updater:<key>``: built unless an image of the same inputs is
    in the store (base, Dockerfile and sources, wheels)."""
    store = containers()
    base = base_image(store)
    context, context_key = build_context()
    base_id = str(store.inspect(base)["Id"])
    key = hashlib.sha256(f"{base_id}\n{context_key}".encode()).hexdigest()[:16]
    name = f"{IMAGE_NAME}:{key}"
    revision = git("rev-parse", "HEAD", cwd=tagged_snapshot()).strip()
    with locked("updater-image"):
        if not store.exists(name):
            store.buildah(
                "bud",
                "--quiet",
                "--pull=never",
                "--network",
                "none",
                "--layers=false",
                "--build-arg",
                f"BASE={base}",
                "--build-arg",
                "PIP_NO_INDEX=1",
                "--build-arg",
                f"VERSION={TEST_VERSION}",
                "--build-arg",
                f"REVISION={revision}",
                "--tag",
                name,
                str(context),
            )
            prune_images(store, keep=name)
    return BuiltImage(store, name, revision)


def prune_images(store: Containers, *, keep: str, newest: int = 4) -> None:
    """Each source change builds a new image: keep the few most recent."""
    images = json.loads(store.podman("images", "--format", "json", IMAGE_NAME) or "[]")
    images.sort(key=lambda image: int(image.get("Created", 0)), reverse=True)
    stale = sorted(
        {
            name
            for image in images[newest:]
            for name in image.get("Names") or []
            if name.startswith(f"{IMAGE_NAME}:") and name != keep
        }
    )
    if stale:
        # Best effort: another worktree's session may be removing the same ones.
        subprocess.run(
            ["podman", "rmi", "--force", "--ignore", *stale],
            env=store.env,
            capture_output=True,
            check=False,
            timeout=120,
        )
