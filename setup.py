"""Video GAN zoo: VGAN, TGAN, MVT-GAN, STGAN and the traversal GAN in TensorFlow/Keras.

Dependencies are pinned to the versions measured to work together on the
reference machine (see BUILD_NOTES.md for why each one is here).
"""
import re

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "tensorflow==2.21.0",      # not tensorflow-cpu: tf-keras and tensorflow-serving-api require this name
    "keras==3.15.1",
    "tensorflow-hub==0.16.1",  # hub.load of exported modules and remote handles
    "tf-keras==2.21.0",        # tensorflow-hub 0.16.1 imports tf_keras
    "numpy>=1.26,<3",
    "absl-py>=2.1",
    "av>=14,<19",              # PyAV: video decoding/encoding (tensorflow-io does not load here)
    "pillow>=10",              # GIF writing
    "tensorboard==2.21.0",
    "tensorflow-serving-api==2.21.0",  # exports write PredictionLog warmup records, check models.config
]

EXTRAS = {
    "test": [
        "pytest>=8",
        "pytest-xdist>=3.5",                    # the suite on both cores (-n 2)
        "scipy>=1.11",                          # independent checks (matrix square roots)
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
    packages=find_packages(include=["zoo", "zoo.*", "trainers", "trainers.*", "export", "export.*"]),
    python_requires=">=3.10,<3.13",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
)
