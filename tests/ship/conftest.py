"""The image every image test of a session shares (built once: the build is cached on
its inputs and taken under a file lock, so xdist workers wait for one build)."""

from __future__ import annotations

import pytest

from tests.ship.image import BuiltImage, missing_tools, updater_image


@pytest.fixture(scope="session")
def image() -> BuiltImage:
    missing = missing_tools()
    assert not missing, (
        f"the image tests need {', '.join(missing)}: scripts/run-tests installs them "
        "(apt-get install buildah podman runc mmdebstrap)"
    )
    return updater_image()
