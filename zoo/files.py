"""Writing a file so that a reader sees the old one or the new one, never half of it: the
zoo's one atomic write (config, progress and report JSON, card parts, caches), through
``tf.io.gfile`` so that any of its URLs works. (Whole folders, e.g. an export version, are
written the same way by ``export.saved_model.atomic_directory``.)"""

from __future__ import annotations

import os
import uuid
from typing import Union

import tensorflow as tf

#: Prefix of the temporary siblings (a crash may leave one; readers ignore them).
TMP_PREFIX = ".tmp-"


def write_atomically(path: str, data: Union[str, bytes]) -> str:
    """Writes ``data`` (text or bytes) to ``path`` through a temporary sibling and a rename
    that replaces any old file; the temporary file is removed if anything fails. Returns ``path``."""
    tmp = os.path.join(os.path.dirname(path), f"{TMP_PREFIX}{os.path.basename(path)}-{uuid.uuid4().hex[:8]}")
    try:
        with tf.io.gfile.GFile(tmp, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        tf.io.gfile.rename(tmp, path, overwrite=True)
    except BaseException:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.remove(tmp)
        raise
    return path
