"""Package layout: the repository's folders installed under one import package, `regista`.

The design keeps server/, services/, client/, schema/ and config/ at the top of the repository; an
installed Regista must not claim those generic names, so each folder is mapped to a `regista.*` package
here (pyproject.toml holds everything else). Sub-packages are found, never listed by hand.
"""

from setuptools import find_namespace_packages, find_packages, setup

FOLDERS = {"server": "regista.server", "services": "regista.services", "client": "regista.client"}
DATA_FOLDERS = {"schema": "regista.schema", "config": "regista.config"}  # HOCON files, no Python

package_dir = {"regista": "regista"}
packages = ["regista"]
for folder, package in FOLDERS.items():
    package_dir[package] = folder
    packages.append(package)
    packages += [f"{package}.{sub}" for sub in find_packages(folder)]
for folder, package in DATA_FOLDERS.items():
    package_dir[package] = folder
    packages.append(package)
    # Sub-folders of HOCON files are namespace packages to setuptools: listed, so their data is shipped.
    packages += [f"{package}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"])]

setup(
    package_dir=package_dir,
    packages=packages,
    package_data={package: ["**/*.conf"] for package in DATA_FOLDERS.values()},
)
