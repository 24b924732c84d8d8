"""The real CNCF registry with ``notifications.endpoints`` pointing at ``updater serve``,
and images pushed to it with ``skopeo copy`` from OCI layouts written here."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from tests.serve.server import SECRET
from tests.support.registry import REGISTRY_BIN, Registry, free_port, wait_for_port

SKOPEO = shutil.which("skopeo")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


@contextmanager
def notifying_registry(root: Path, *hook_urls: str) -> Iterator[Registry]:
    """docker-registry on 127.0.0.1 that notifies every URL (header values are lists,
    blobs ignored, a short timeout and backoff)."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test-secret"},
        "notifications": {
            "endpoints": [
                {
                    "name": f"updater-{number}",
                    "url": url,
                    "headers": {"Authorization": [f"Bearer {SECRET}"]},
                    "timeout": "2s",
                    "threshold": 3,
                    "backoff": "200ms",
                    "ignoredmediatypes": ["application/octet-stream"],
                }
                for number, url in enumerate(hook_urls)
            ]
        },
    }
    path = root / "config.yml"
    path.write_text(json.dumps(config))
    with open(root / "registry.log", "wb") as log:
        process = subprocess.Popen([REGISTRY_BIN, "serve", str(path)], stdout=log, stderr=log)
    try:
        wait_for_port(port, process)
        yield Registry(port, process, root, lambda scope: {})
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Layout:
    """An OCI image layout on disk: one image, or an index of one image per platform."""

    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.refs: list[dict[str, object]] = []

    def blob(self, data: bytes, media_type: str) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (self.path / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    def image(
        self, salt: str, platform: str = "linux/amd64", created: str | None = None
    ) -> dict[str, object]:
        os_name, arch = platform.split("/")[:2]
        when = created or "2024-01-01T00:00:00Z"
        config = json.dumps(
            {"created": when, "architecture": arch, "os": os_name,
             "config": {"Labels": {"salt": salt}}, "rootfs": {"type": "layers", "diff_ids": []}},
            sort_keys=True,
        ).encode()  # fmt: skip
        layer = f"layer {salt} {platform}".encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": self.blob(config, OCI_CONFIG),
                "layers": [self.blob(layer, OCI_LAYER)],
            }
        ).encode()
        entry = self.blob(manifest, OCI_MANIFEST)
        entry["platform"] = {"os": os_name, "architecture": arch}
        return entry

    def tag(self, name: str, entry: dict[str, object]) -> str:
        ref = {**entry, "annotations": {"org.opencontainers.image.ref.name": name}}
        ref.pop("platform", None)
        self.refs.append(ref)
        (self.path / "index.json").write_text(
            json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.refs})
        )
        return str(entry["digest"])

    def single(self, tag: str, salt: str, created: str | None = None) -> str:
        return self.tag(tag, self.image(salt, created=created))

    def multi(self, tag: str, salt: str, platforms: Sequence[str]) -> str:
        entries = [self.image(salt, platform) for platform in platforms]
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        ).encode()
        return self.tag(tag, self.blob(index, OCI_INDEX))


def skopeo_copy(layout: Layout, tag: str, registry: Registry, name: str) -> None:
    assert SKOPEO, "skopeo is not installed"
    done = subprocess.run(
        [SKOPEO, "copy", "--all", "--quiet", "--dest-tls-verify=false",
         f"oci:{layout.path}:{tag}", f"docker://{registry.host}/{name}:{tag}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
