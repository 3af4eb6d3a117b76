"""Video GAN zoo: VGAN, TGAN, MVT-GAN, STGAN and the traversal GAN in TensorFlow/Keras.

Dependencies are ranges: from the version CI installed and tested (constraints.txt holds
exactly what it used) up to the next major release (see BUILD_NOTES.md for why each one is
here). The shipped modules of ``pretrained/`` travel inside the package as
``zoo/_pretrained/`` (about 30 MB), where ``zoo.pretrained`` finds them by name.
"""

import os
import re

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "tensorflow>=2.21.0,<3",  # not tensorflow-cpu: tf-keras and tensorflow-serving-api require this name
    "keras>=3.15.1,<4",
    "tensorflow-hub>=0.16.1,<1",  # hub.load of exported modules and remote handles
    "tf-keras>=2.21.0,<3",  # tensorflow-hub imports tf_keras (each release requires its TF minor)
    "setuptools<82",  # tensorflow-hub 0.16.1 imports pkg_resources, which setuptools 82 removed
    "numpy>=1.26,<3",
    "absl-py>=2.1,<3",
    "av>=14,<19",  # PyAV: video decoding/encoding (tensorflow-io does not load here)
    "pillow>=10,<14",  # GIF writing and reading, PNG frames
    "scipy>=1.11,<2",  # zoo.probes' linear SVM (L-BFGS), trainers.reproduce tgan_table2
    "tensorboard>=2.21.0,<3",
    "tensorflow-serving-api>=2.21.0,<3",  # exports write PredictionLog warmup records, check models.config
]

#: The shipped modules, installed as the data of the package ``zoo._pretrained``.
PRETRAINED = "pretrained"


def _pretrained_files():
    """Every file under ``pretrained/``, relative to it (the modules and their cards)."""
    return sorted(
        os.path.relpath(os.path.join(root, name), PRETRAINED)
        for root, _, files in os.walk(PRETRAINED)
        for name in files
    )


EXTRAS = {
    # Camera stabilisation of video folders (--data_opt=stabilize=true; VGAN's paper preset):
    # SIFT, RANSAC homographies and warps. A 62-64 MB wheel (about 170 MB installed), so an
    # extra; headless: no GUI libraries. Tested with 4.14 and 5.1 (cv2.SIFT_create since 4.4).
    "stabilize": ["opencv-python-headless>=4.14,<6"],
    "test": [
        "pytest>=8",
        "pytest-xdist>=3.5",  # the suite on both cores (-n 2)
        "ruff>=0.17.6,<0.18",  # lint and format (ruff.toml), run by .ci/run
    ],
}


def _version() -> str:
    """``zoo.__version__``, read without importing the package (it imports TensorFlow)."""
    with open("zoo/__init__.py", encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


setup(
    name="video-gan-zoo",
    version=_version(),
    description="Reference TensorFlow/Keras implementations of classic video GANs, "
    "exportable as SavedModels and TF Hub modules",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    license_files=["LICENSE"],
    packages=find_packages(include=["zoo", "zoo.*", "trainers", "trainers.*", "export", "export.*"])
    + ["zoo._pretrained"],
    package_dir={"zoo._pretrained": PRETRAINED},
    package_data={"zoo._pretrained": _pretrained_files(), "trainers": ["recipe_notes/*.md"]},
    python_requires=">=3.10,<3.14",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
)
