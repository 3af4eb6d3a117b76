"""Adversarial loss families.

Every function returns a *per-example* loss of shape [batch] (logits of any
shape [batch, ...] are averaged over their non-batch axes); the training step
sums per-example losses and divides by the global batch size, so that a loss
is scaled exactly once under any ``tf.distribute`` strategy.

Families (``get(name)``):

- ``minimax``: Goodfellow et al. (2014), equation 1 of the VGAN paper, written
  from logits for numerical stability: D minimises
  ``softplus(-D(x)) + softplus(D(G(z)))``; G minimises ``log(1 - D(G(z)))``
  = ``-softplus(D(G(z)))`` (saturating).
- ``non_saturating``: same discriminator; G minimises ``-log D(G(z))`` =
  ``softplus(-D(G(z)))``. This is what DCGAN's and VGAN's Torch code actually
  optimise (the generator is trained with the "real" label).
- ``hinge``: Lim & Ye (2017), Miyato et al. (2018); MVT-GAN's equations 2-3.
- ``wasserstein``: Arjovsky et al. (2017); D (the critic) minimises
  ``D(G(z)) - D(x)``, G minimises ``-D(G(z))``. Needs a Lipschitz constraint
  elsewhere (weight or singular value clipping, gradient penalty).

Several discriminators: :func:`hypervolume` combines K generator losses (the
traversal GAN's multiple projected discriminators).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict

import tensorflow as tf


def per_example(x: tf.Tensor) -> tf.Tensor:
    """Averages a [batch, ...] tensor over its non-batch axes, in float32."""
    x = tf.cast(x, tf.float32)
    if x.shape.rank is not None and x.shape.rank <= 1:
        return x
    return tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1]), axis=1)


def bce_discriminator(real_logits, fake_logits):
    """-log sigmoid(real) - log(1 - sigmoid(fake)), from logits."""
    return per_example(tf.nn.softplus(-tf.cast(real_logits, tf.float32))) + per_example(
        tf.nn.softplus(tf.cast(fake_logits, tf.float32))
    )


def minimax_generator(fake_logits):
    """log(1 - sigmoid(fake)) = -softplus(fake): the saturating generator loss."""
    return per_example(-tf.nn.softplus(tf.cast(fake_logits, tf.float32)))


def non_saturating_generator(fake_logits):
    """-log sigmoid(fake) = softplus(-fake)."""
    return per_example(tf.nn.softplus(-tf.cast(fake_logits, tf.float32)))


def hinge_discriminator(real_logits, fake_logits):
    return per_example(tf.nn.relu(1.0 - tf.cast(real_logits, tf.float32))) + per_example(
        tf.nn.relu(1.0 + tf.cast(fake_logits, tf.float32))
    )


def linear_generator(fake_logits):
    """-D(G(z)): the generator loss of both hinge and Wasserstein GANs."""
    return per_example(-tf.cast(fake_logits, tf.float32))


def wasserstein_discriminator(real_logits, fake_logits):
    return per_example(tf.cast(fake_logits, tf.float32)) - per_example(tf.cast(real_logits, tf.float32))


def hypervolume(per_discriminator, slack: float = 1.5, means=None, eps: float = 1e-8) -> tf.Tensor:
    """Hypervolume maximization over K generator losses, as per-example terms [B].

    L = -sum_k log(eta - l_k), l_k the batch mean of discriminator k's generator
    loss and eta = ``slack`` * max_k l_k + ``eps`` the nadir point, held constant
    (no gradient), as the traversal authors' code (their hGAN, Albuquerque et al.
    2019). dL/dl_k = 1 / (eta - l_k): the worse a discriminator finds G, the more
    its loss weighs. The losses must be positive (e.g. ``non_saturating``).

    ``per_discriminator``: [K, B] per-example losses l_{k,i}; ``means``: [K] the
    l_k (under a strategy, the global batch's: ``zoo.distribute.global_batch_mean``;
    default: the mean over B). Returns t_i = L + sum_k w_k (l_{k,i} - l_k),
    w_k = 1 / (eta - l_k) constant: their batch mean is L and its gradient is
    exactly L's, so the terms go through the zoo's per-example loss scaling.
    """
    losses = tf.cast(per_discriminator, tf.float32)
    means = tf.reduce_mean(losses, axis=1) if means is None else tf.cast(means, tf.float32)
    means = tf.stop_gradient(means)
    gap = slack * tf.reduce_max(means) + eps - means
    value = -tf.reduce_sum(tf.math.log(gap))
    return value + tf.reduce_sum((losses - means[:, None]) / gap[:, None], axis=0)


@dataclasses.dataclass(frozen=True)
class LossFamily:
    name: str
    discriminator: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
    generator: Callable[[tf.Tensor], tf.Tensor]


FAMILIES: Dict[str, LossFamily] = {
    "minimax": LossFamily("minimax", bce_discriminator, minimax_generator),
    "non_saturating": LossFamily("non_saturating", bce_discriminator, non_saturating_generator),
    "hinge": LossFamily("hinge", hinge_discriminator, linear_generator),
    "wasserstein": LossFamily("wasserstein", wasserstein_discriminator, linear_generator),
}
#: The loss names a config's ``loss`` field takes.
NAMES = tuple(sorted(FAMILIES))


def get(name: str) -> LossFamily:
    if isinstance(name, LossFamily):
        return name
    if name not in FAMILIES:
        raise ValueError(f"unknown adversarial loss {name!r}; expected one of {sorted(FAMILIES)}")
    return FAMILIES[name]


def check_name(name: str, where: str) -> None:
    """A config's ``loss`` field, checked when the config is made (before a trainer writes
    anything): ``ValueError`` "<where>loss must be one of [...], got ..."."""
    if name not in FAMILIES:
        raise ValueError(f"{where}loss must be one of {sorted(FAMILIES)}, got {name!r}")
