"""Bounded reading: zip bombs and lying headers are refused early, fast and small.

The bombs are real: 2 MB files whose member inflates to 2 GiB of zeros (see
``bundle_craft.deflate_zeros``). Refusal must come from the headers, before anything is
decompressed: under 0.5 s and under 100 MB of extra memory (Python allocations traced
with ``tracemalloc``, and the process' peak RSS).
"""

from __future__ import annotations

import json
import os
import resource
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
from bundle_craft import (
    MIB,
    Entry,
    build_zip,
    bundle_bytes,
    deflate_zeros,
    manifest_for,
    read_members,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skprep
from skprep.exceptions import BundleError, BundleIntegrityError

BOMB_MIB = 2048  # 2 GiB once inflated
MAX_SECONDS = 0.5
MAX_EXTRA_BYTES = 100 * MIB


@pytest.fixture(scope="module")
def bomb_stream() -> bytes:
    return deflate_zeros(BOMB_MIB)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A fitted scaler + logistic regression, its bundle's manifest and members."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    pipe = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression())])
    pipe.fit(X, (X[:, 0] > 0).astype(int))
    path = skprep.save(pipe, tmp_path_factory.mktemp("tiny") / "tiny.skprep")
    with open(path, "rb") as fh:
        members = read_members(fh.read())
    return json.loads(members.pop("manifest.json")), members


def _refusal(path, **kwargs) -> tuple[BundleError, float, int, int]:
    """The error, seconds taken, peak traced bytes and growth of peak RSS of a refusal."""
    with pytest.raises(BundleError):
        skprep.load(path, **kwargs)  # warm: imports done, so the timing is the refusal
    start = time.perf_counter()
    with pytest.raises(BundleError) as err:
        skprep.load(path, **kwargs)
    seconds = time.perf_counter() - start
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    try:
        with pytest.raises(BundleError):
            skprep.load(path, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    return err.value, seconds, peak, rss_growth


def _assert_cheap(seconds: float, peak: int, rss_growth: int) -> None:
    assert seconds < MAX_SECONDS, f"refusal took {seconds:.3f} s"
    assert peak < MAX_EXTRA_BYTES, f"refusal allocated {peak / MIB:.1f} MiB"
    assert rss_growth < MAX_EXTRA_BYTES, f"peak RSS grew by {rss_growth / MIB:.1f} MiB"


def _bomb_entry(name: str, stream: bytes, declared: int) -> Entry:
    return Entry(name, stream, size=declared, method=zipfile.ZIP_DEFLATED, crc=0)


def test_deflate_bomb_builder_is_what_it_says():
    stream = deflate_zeros(3)
    assert zlib.decompress(stream, -15) == bytes(3 * MIB) and len(stream) < 4096


def test_bomb_with_honest_looking_manifest_is_refused_from_its_header(tiny, bomb_stream,
                                                                     tmp_path):
    manifest, members = tiny
    # the manifest still describes the real payload; the zip header admits 2 GiB
    path = tmp_path / "bomb.skprep"
    path.write_bytes(bundle_bytes(manifest, [
        _bomb_entry("estimator.skops", bomb_stream, BOMB_MIB * MIB)]))
    assert os.path.getsize(path) < 3 * MIB
    err, seconds, peak, rss = _refusal(path)
    assert isinstance(err, BundleIntegrityError)
    assert "'estimator.skops'" in str(err) and "before decompressing" in str(err)
    _assert_cheap(seconds, peak, rss)


def test_bomb_with_matching_manifest_is_refused_by_the_cap(tiny, bomb_stream, tmp_path):
    manifest, _ = tiny
    # the attacker rewrote the manifest: sizes agree everywhere, the cap refuses
    forged = dict(manifest, members={"estimator.skops": {"sha256": "0" * 64,
                                                         "size": BOMB_MIB * MIB}})
    path = tmp_path / "bomb.skprep"
    path.write_bytes(bundle_bytes(forged, [
        _bomb_entry("estimator.skops", bomb_stream, BOMB_MIB * MIB)]))
    err, seconds, peak, rss = _refusal(path)
    assert isinstance(err, BundleIntegrityError) and "max_bytes" in str(err)
    _assert_cheap(seconds, peak, rss)
    # the default cap follows the file's size: 32 MiB out of a 33 kB file is a bomb too,
    # while a cap given explicitly lets it be read (and its forged sha256 then refuses it)
    path.write_bytes(bundle_bytes(
        dict(forged, members={"estimator.skops": {"sha256": "0" * 64, "size": 32 * MIB}}),
        [Entry("estimator.skops", deflate_zeros(32), size=32 * MIB, crc=zlib.crc32(bytes(32 * MIB)),
               method=zipfile.ZIP_DEFLATED)]))
    with pytest.raises(BundleIntegrityError, match="max_bytes"):
        skprep.load(path)
    with pytest.raises(BundleIntegrityError, match="'estimator.skops' .* was altered"):
        skprep.load(path, max_bytes=64 * MIB)
    # an explicit cap works both ways: a real bundle under a tiny cap is refused too
    real = skprep.save(StandardScaler().fit([[0.0], [1.0]]), tmp_path / "real.skprep")
    with pytest.raises(BundleIntegrityError, match="max_bytes"):
        skprep.load(real, max_bytes=100)
    assert skprep.load(real, max_bytes=10 * MIB).mean_.tolist() == [0.5]
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(ValueError, match="max_bytes"):
            skprep.load(real, max_bytes=bad)


def test_lying_header_is_read_only_up_to_the_declared_size(tiny, bomb_stream, tmp_path):
    manifest, members = tiny
    size = len(members["estimator.skops"])
    # header and manifest agree on the real size; the data behind inflates to 2 GiB
    path = tmp_path / "liar.skprep"
    path.write_bytes(bundle_bytes(manifest, [_bomb_entry("estimator.skops", bomb_stream, size)]))
    err, seconds, peak, rss = _refusal(path)
    assert isinstance(err, BundleIntegrityError) and "'estimator.skops'" in str(err)
    _assert_cheap(seconds, peak, rss)


def test_bomb_inside_the_skops_payload_is_refused(tiny, bomb_stream, tmp_path):
    manifest, members = tiny
    inner = read_members(members["estimator.skops"])
    name = next(n for n in inner if n != "schema.json")
    payload = build_zip([Entry(n, d) for n, d in inner.items() if n != name]
                        + [_bomb_entry(name, bomb_stream, BOMB_MIB * MIB)])
    forged = manifest_for(manifest, {"estimator.skops": payload})
    path = tmp_path / "inner.skprep"
    path.write_bytes(bundle_bytes(forged, [Entry("estimator.skops", payload)]))
    err, seconds, peak, rss = _refusal(path)
    assert isinstance(err, BundleIntegrityError) and "max_bytes" in str(err)
    _assert_cheap(seconds, peak, rss)


@pytest.mark.parametrize("method", [9, 12, 14, 99])  # deflate64, bzip2, lzma, AES
def test_compression_methods_other_than_stored_or_deflated_are_refused(tiny, tmp_path, method):
    manifest, members = tiny
    entries = [Entry(n, d, method=method if n == "estimator.skops" else 0)
               for n, d in members.items()]
    path = tmp_path / "method.skprep"
    path.write_bytes(bundle_bytes(manifest, entries))
    with pytest.raises(BundleIntegrityError, match=rf"'estimator.skops'.*method {method}"):
        skprep.load(path)


def test_encrypted_duplicated_or_unlisted_members_are_refused(tiny, tmp_path):
    manifest, members = tiny
    cases = {
        "encrypted": ([Entry(n, d, flags=1) for n, d in members.items()], "encrypted"),
        "duplicate": ([Entry(n, d) for n, d in members.items()] * 2, "more than once"),
        "unlisted": ([Entry(n, d) for n, d in members.items()] + [Entry("extra.py", b"1")],
                     r"does not list: \['extra.py'\]"),
    }
    for label, (entries, match) in cases.items():
        path = tmp_path / f"{label}.skprep"
        path.write_bytes(bundle_bytes(manifest, entries))
        with pytest.raises(BundleIntegrityError, match=match):
            skprep.load(path)
    path = tmp_path / "two-manifests.skprep"
    path.write_bytes(build_zip([Entry("manifest.json", json.dumps(manifest).encode())] * 2
                               + [Entry(n, d) for n, d in members.items()]))
    with pytest.raises(BundleIntegrityError, match="more than once"):
        skprep.read_manifest(path)


def test_bundles_are_written_with_the_users_umask(tmp_path):
    scaler = StandardScaler().fit([[0.0], [1.0]])
    for umask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        old = os.umask(umask)
        try:
            path = skprep.save(scaler, tmp_path / f"u{umask:o}.skprep")
        finally:
            os.umask(old)
        assert os.stat(path).st_mode & 0o777 == mode
    assert sorted(os.listdir(tmp_path)) == ["u2.skprep", "u22.skprep", "u77.skprep"]


# ---------------------------------------------------------------- Keras members


@pytest.fixture(scope="module")
def keras_bundle(tmp_path_factory):
    keras = pytest.importorskip("keras")
    from skprep import KerasFeatureExtractor

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, keras.layers.GlobalAveragePooling2D()(
        keras.layers.Conv2D(4, 3)(inp)))
    path = skprep.save(KerasFeatureExtractor(model).fit(),
                       tmp_path_factory.mktemp("kb") / "ext.skprep")
    with open(path, "rb") as fh:
        members = read_members(fh.read())
    return json.loads(members.pop("manifest.json")), members


@pytest.mark.keras
def test_keras_member_inflating_beyond_its_declared_size_is_refused(keras_bundle,
                                                                   bomb_stream, tmp_path):
    manifest, members = keras_bundle
    entries = [Entry(n, d) for n, d in members.items() if n != "models/0.keras"]
    path = tmp_path / "keras-bomb.skprep"
    path.write_bytes(bundle_bytes(manifest, entries + [
        _bomb_entry("models/0.keras", bomb_stream, BOMB_MIB * MIB)]))
    err, seconds, peak, rss = _refusal(path)
    assert isinstance(err, BundleIntegrityError) and "'models/0.keras'" in str(err)
    _assert_cheap(seconds, peak, rss)


@pytest.mark.keras
def test_bomb_inside_the_keras_archive_is_refused_before_keras_reads_it(keras_bundle,
                                                                       bomb_stream, tmp_path):
    manifest, members = keras_bundle
    inner = read_members(members["models/0.keras"])
    assert "model.weights.h5" in inner
    for declared in (BOMB_MIB * MIB, len(inner["model.weights.h5"])):
        archive = build_zip([Entry(n, d) for n, d in inner.items() if n != "model.weights.h5"]
                            + [_bomb_entry("model.weights.h5", bomb_stream, declared)])
        new = dict(members, **{"models/0.keras": archive})
        path = tmp_path / f"keras-inner-{declared}.skprep"
        path.write_bytes(bundle_bytes(manifest_for(manifest, new),
                                      [Entry(n, d) for n, d in new.items()]))
        if declared > len(inner["model.weights.h5"]):
            # an honest 2 GiB header: refused before Keras opens the archive
            err, seconds, peak, rss = _refusal(path)
            assert isinstance(err, BundleIntegrityError)
            assert "'models/0.keras'" in str(err) and "max_bytes" in str(err)
            _assert_cheap(seconds, peak, rss)
        else:
            # a lying header: Keras reads the declared bytes only, and they are no h5 file
            tracemalloc.start()
            try:
                with pytest.raises(BundleIntegrityError, match="'models/0.keras'"):
                    skprep.load(path)
                assert tracemalloc.get_traced_memory()[1] < MAX_EXTRA_BYTES
            finally:
                tracemalloc.stop()
