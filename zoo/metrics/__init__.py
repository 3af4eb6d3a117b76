"""Evaluation metrics for video generators: the numbers, in float64 numpy.

This first part is the numerical core, independent of any network: it takes
features, class probabilities or accuracies that something else computed (a
video classifier of ``zoo.classifiers``, a discriminator) and turns them into
the scores the papers report. It uses numpy only (no TensorFlow, no scipy),
computes in float64 whatever dtype comes in, and raises ``ValueError``s that
name what was expected and what came.

- ``feature_statistics``, ``frechet_distance``, ``frechet_distance_from_features``:
  the Frechet distance between Gaussians fitted to features (FID, Heusel et al.
  2017; FVD, Unterthiner et al. 2018; MVT-GAN paper, equation 8).
- ``inception_score``: Salimans et al. (2016), the protocol of their code and of
  the TGAN / VGAN-era video IS (MVT-GAN paper, equation 7).
- ``kernel_distance``: KID, the unbiased polynomial-kernel MMD^2 of Binkowski
  et al. (2018), "Demystifying MMD GANs".
- ``nearest_neighbours``, ``memorization``: does the generator copy its
  training clips? (the nearest-neighbour check of TGAN section 5 / MVT-GAN
  section 6, made a number).
- ``linear_probe``: a linear classifier on frozen features (VGAN section 3.3,
  TGAN section 5.4).
- ``s3``: the Symmetric Similarity Score of the MVT-GAN paper, section 5,
  equation 9.

The second part measures generators with networks: :class:`FeatureNetwork`
(a classifier, I3D or a discriminator's features, with its preprocessing),
clip sources (:func:`generator_source`, :func:`conditioned_source`,
:func:`dataset_source`, :func:`noise_source`), the :class:`Evaluator` that draws clips and runs each
network once per source, the registry of named metrics (:data:`METRICS`,
:func:`get`, :func:`compute`: ``fvd_i3d_16f``, ``fvd_local_16f``, ``is_c3d``,
``is_lrcn``, ``fid_frames``, ``kid``, ``s3``, ``probe``, ``nn_pixels``,
``nn_c3d``, ``balls``, ``digits``, ``continuation``; each records what it depends on) and :class:`MetricCallback`, which
logs cheap metrics to TensorBoard during training. ``python -m trainers.evaluate``
is the command line.

The package, one module per topic: ``distances`` (the numbers), ``networks`` (feature
networks), ``clips`` (clip sources), ``evaluation`` (the evaluator and the registry of
named metrics), ``callback`` (during training). Everything public is importable from
``zoo.metrics`` itself.

Conventions: a "features" argument is a [N, F] matrix of N examples (rows);
``nearest_neighbours`` and ``memorization`` also take [N, ...] arrays (videos)
and flatten each example. Means and standard deviations over splits/subsets are
population ones (``ddof=0``), as the reference implementations compute them.
"""

from zoo.metrics.callback import MetricCallback
from zoo.metrics.clips import (
    ClipSource,
    Clips,
    conditioned_source,
    dataset_source,
    generator_source,
    noise_source,
    shuffled_source,
)
from zoo.metrics.distances import (
    feature_statistics,
    frechet_distance,
    frechet_distance_from_features,
    inception_contributions,
    inception_score,
    kernel_distance,
    linear_probe,
    memorization,
    nearest_neighbours,
    s3,
)
from zoo.metrics.evaluation import IS_PROTOCOLS, METRICS, Evaluator, Metric, compute, get, names, register
from zoo.metrics.networks import I3D_HANDLE, I3D_SIZE, FeatureNetwork, model_network

__all__ = [
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_features",
    "inception_score",
    "inception_contributions",
    "kernel_distance",
    "nearest_neighbours",
    "memorization",
    "linear_probe",
    "s3",
    "I3D_HANDLE",
    "I3D_SIZE",
    "FeatureNetwork",
    "model_network",
    "Clips",
    "ClipSource",
    "dataset_source",
    "generator_source",
    "conditioned_source",
    "shuffled_source",
    "noise_source",
    "Evaluator",
    "Metric",
    "METRICS",
    "IS_PROTOCOLS",
    "register",
    "names",
    "get",
    "compute",
    "MetricCallback",
]
