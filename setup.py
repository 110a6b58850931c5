"""Package discovery for the folders pyproject.toml maps into `fxflow` ([tool.setuptools] package-dir).

Every folder with an `__init__.py` below a mapped root is a package, found here at build time, so moving a
file or adding a subpackage (lowering/aie/passes, fxflow/emulator, ...) needs no list kept by hand.  The
mapping itself stays in pyproject.toml, the one place it is written (test/python/test_packaging.py checks a
built wheel against the source tree)."""

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def mapped_packages() -> list[str]:
    package_dir = tomllib.loads((HERE / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    packages = []
    for name, folder in package_dir.items():
        packages.append(name)
        packages += [f"{name}.{sub}" for sub in find_packages(str(HERE / folder))]
    return sorted(set(packages))


setup(packages=mapped_packages())
