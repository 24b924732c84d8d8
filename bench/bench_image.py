"""The container image's size, compressed (as a registry stores it) and uncompressed,
split into the base image and what the Dockerfile adds, against the study build's
101 MB compressed.

Builds the image offline exactly as tests/ship does (cached on its inputs, so a run with
nothing changed skips most of the build), pushes the base and the
image to a docker-registry on 127.0.0.1 and sums the gzip layer sizes in the manifests.

    python bench/bench_image.py [--json] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ship.image import Containers, base_image, updater_image  # noqa: E402
from tests.support.registry import Registry, start_registry  # noqa: E402

STUDY_COMPRESSED = 101_000_000
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def pushed_layers(store: Containers, registry: Registry, image: str, name: str) -> list[int]:
    """Push ``image`` as ``name:bench`` and return its compressed layer sizes."""
    store.podman("push", "--quiet", "--tls-verify=false", image, f"{registry.host}/{name}:bench")
    answer = requests.get(
        f"{registry.url}/v2/{name}/manifests/bench",
        headers={"Accept": MANIFEST_TYPES},
        timeout=30,
    )
    answer.raise_for_status()
    return [int(layer["size"]) for layer in answer.json()["layers"]]


def measure() -> dict[str, int]:
    built = updater_image()
    store = built.store
    base = base_image(store)
    with tempfile.TemporaryDirectory() as scratch:
        registry = start_registry(Path(scratch) / "registry")
        try:
            image_layers = pushed_layers(store, registry, built.name, "bench/gitops-updater")
            base_layers = pushed_layers(store, registry, base, "bench/base")
        finally:
            registry.stop()
    image_size = int(store.inspect(built.name)["Size"])  # type: ignore[call-overload]
    base_size = int(store.inspect(base)["Size"])  # type: ignore[call-overload]
    return {
        "compressed": sum(image_layers),
        "compressed_base": sum(base_layers),
        "compressed_added": sum(image_layers) - sum(base_layers),
        "uncompressed": image_size,
        "uncompressed_base": base_size,
        "uncompressed_added": image_size - base_size,
        "layers": len(image_layers),
    }


def megabytes(value: int) -> str:
    return f"{value / 1e6:7.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 unless smaller than the study build"
    )
    args = parser.parse_args()
    figures = measure()
    figures["ratio_to_study_x1000"] = round(1000 * figures["compressed"] / STUDY_COMPRESSED)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"{'':12}{'compressed':>12}{'uncompressed':>14}")
        for part in ("", "_base", "_added"):
            label = {"": "image", "_base": "  base", "_added": "  added"}[part]
            print(
                f"{label:12}{megabytes(figures['compressed' + part]):>12}"
                f"{megabytes(figures['uncompressed' + part]):>14}"
            )
        print(
            f"study build {megabytes(STUDY_COMPRESSED)} compressed: this one is "
            f"{figures['compressed'] / STUDY_COMPRESSED:.2f}x"
        )
    return 1 if args.check and figures["compressed"] >= STUDY_COMPRESSED else 0


if __name__ == "__main__":
    sys.exit(main())
