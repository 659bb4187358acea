"""Signed bundles: OpenSSF model-signing's format with an elliptic-curve key, both ways.

``skprep.save(..., sign_with=key)`` writes ``<bundle>.sig``; ``skprep.load(...,
verify_with=key)`` refuses a missing, foreign or broken signature and any change to the
bundle, including a forgery whose manifest checksums were rewritten to match (which the
checksums alone cannot see). The ``model_signing`` command line verifies skprep's
signatures, and skprep verifies signatures made by ``model_signing``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from bundle_craft import Entry, build_zip, manifest_for, read_members
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skprep
from skprep.exceptions import BundleError, BundleSignatureError
from skprep.persistence import signature_path, signature_status, verify_signature

pytest.importorskip("model_signing")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
ec = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ec")


def _key_pair(folder, name, curve=None):
    key = ec.generate_private_key(curve or ec.SECP256R1())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    (folder / f"{name}.pem").write_bytes(private)
    (folder / f"{name}.pub").write_bytes(public)
    return folder / f"{name}.pem", folder / f"{name}.pub"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    return {"mine": _key_pair(folder, "mine"), "other": _key_pair(folder, "other"),
            "p384": _key_pair(folder, "p384", ec.SECP384R1())}


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).normal(size=(30, 4))
    pipe = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression())])
    return pipe.fit(X, (X[:, 0] > 0).astype(int)), X


def _model_signing(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "model_signing", "--log-level", "ERROR", *args],
                          capture_output=True, text=True, timeout=120)


def test_signed_bundle_round_trip_with_paths_or_pem_text(fitted, keys, tmp_path):
    pipe, X = fitted
    private, public = keys["mine"]
    path = skprep.save(pipe, tmp_path / "pipe.skprep", sign_with=private)
    assert os.path.isfile(path + ".sig") and signature_path(path) == path + ".sig"
    for key in (public, str(public), public.read_bytes(), public.read_text()):
        loaded = skprep.load(path, verify_with=key)
        np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    # PEM text as the private key, and another curve
    path = skprep.save(pipe, tmp_path / "pem.skprep", sign_with=private.read_bytes())
    verify_signature(path, public)
    path = skprep.save(pipe, tmp_path / "p384.skprep", sign_with=keys["p384"][0])
    verify_signature(path, keys["p384"][1])
    # the signature is a Sigstore bundle holding an in-toto statement over the file
    envelope = json.loads((tmp_path / "pipe.skprep.sig").read_text())
    assert envelope["mediaType"].startswith("application/vnd.dev.sigstore.bundle")
    assert envelope["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"


def test_missing_foreign_or_broken_signatures_are_refused(fitted, keys, tmp_path):
    pipe, _ = fitted
    private, public = keys["mine"]
    unsigned = skprep.save(pipe, tmp_path / "unsigned.skprep")
    with pytest.raises(BundleSignatureError, match="has no signature"):
        skprep.load(unsigned, verify_with=public)
    path = skprep.save(pipe, tmp_path / "pipe.skprep", sign_with=private)
    with pytest.raises(BundleSignatureError, match="does not verify"):
        skprep.load(path, verify_with=keys["other"][1])
    good = (tmp_path / "pipe.skprep.sig").read_bytes()
    envelope = json.loads(good)
    sig = envelope["dsseEnvelope"]["signatures"][0]["sig"]
    envelope["dsseEnvelope"]["signatures"][0]["sig"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    broken = {"flipped": json.dumps(envelope).encode(), "truncated": good[: len(good) // 2],
              "empty": b"", "not json": b"\x00\xff" * 10}
    for data in broken.values():
        (tmp_path / "pipe.skprep.sig").write_bytes(data)
        with pytest.raises(BundleSignatureError):
            skprep.load(path, verify_with=public)
    # a valid signature of another bundle
    other = skprep.save(StandardScaler().fit(np.ones((2, 2))), tmp_path / "o.skprep",
                        sign_with=private)
    (tmp_path / "pipe.skprep.sig").write_bytes((tmp_path / "o.skprep.sig").read_bytes())
    with pytest.raises(BundleSignatureError, match="does not verify"):
        skprep.load(path, verify_with=public)
    assert signature_status(other) == "signed (not verified)"
    assert signature_status(other, public) == "verified"
    assert signature_status(unsigned, public) == "unsigned"
    assert signature_status(path, public).startswith("INVALID: ")


def test_forgery_with_a_rewritten_manifest_is_caught_only_by_the_signature(fitted, keys,
                                                                          tmp_path):
    pipe, X = fitted
    private, public = keys["mine"]
    path = skprep.save(pipe, tmp_path / "pipe.skprep", sign_with=private)
    with open(path, "rb") as fh:
        members = read_members(fh.read())
    manifest = json.loads(members.pop("manifest.json"))
    # the forger swaps in another model and rewrites the checksums to match
    forged_pipe = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression(C=1e-3))])
    forged_pipe.fit(X, (X[:, 1] > 0).astype(int))
    forged = dict(members)
    import skops.io as sio

    forged["estimator.skops"] = sio.dumps(forged_pipe)
    raw = build_zip([Entry("manifest.json",
                           json.dumps(manifest_for(manifest, forged)).encode())]
                    + [Entry(n, d) for n, d in forged.items()])
    with open(path, "wb") as fh:
        fh.write(raw)
    # checksums cannot tell: the forgery loads and predicts differently
    loaded = skprep.load(path)
    assert not np.array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    with pytest.raises(BundleSignatureError, match="changed after signing"):
        skprep.load(path, verify_with=public)
    # only the manifest changed (metadata), or a byte appended: refused too
    for change in (lambda m: dict(m, metadata={"owner": "forger"}), None):
        path = skprep.save(pipe, tmp_path / "p2.skprep", sign_with=private)
        with open(path, "rb") as fh:
            original = fh.read()
        if change is None:
            raw = original + b"\x00"
        else:
            parts = read_members(original)
            parts["manifest.json"] = json.dumps(change(json.loads(parts["manifest.json"])))
            raw = build_zip([Entry(n, d if isinstance(d, bytes) else d.encode())
                             for n, d in parts.items()])
        with open(path, "wb") as fh:
            fh.write(raw)
        with pytest.raises(BundleSignatureError):
            skprep.load(path, verify_with=public)


def test_verification_comes_before_reading(fitted, keys, tmp_path):
    """A pickle or a broken zip under a signature is refused for the signature."""
    pipe, _ = fitted
    private, public = keys["mine"]
    path = skprep.save(pipe, tmp_path / "pipe.skprep", sign_with=private)
    with open(path, "wb") as fh:
        fh.write(b"\x80\x04junk that is not a zip")
    with pytest.raises(BundleSignatureError):
        skprep.load(path, verify_with=public)
    with pytest.raises(BundleError, match="allow_pickle"):
        skprep.load(path)


def test_unusable_signing_keys_write_nothing(fitted, keys, tmp_path):
    pipe, _ = fitted
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_pem = rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    encrypted = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"))
    bad_keys = [rsa_pem, encrypted, b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----",
                keys["mine"][1], tmp_path / "no-such-key.pem"]
    for key in bad_keys:
        with pytest.raises(BundleSignatureError):
            skprep.save(pipe, tmp_path / "pipe.skprep", sign_with=key)
        assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="sign_with"):
        skprep.save(pipe, tmp_path / "pipe.skprep", sign_with=123)
    with pytest.raises(BundleSignatureError, match="verify_with"):
        path = skprep.save(pipe, tmp_path / "pipe.skprep", sign_with=keys["mine"][0])
        skprep.load(path, verify_with=keys["mine"][0].read_bytes())


def test_saving_again_without_a_key_removes_the_stale_signature(fitted, keys, tmp_path):
    pipe, _ = fitted
    path = skprep.save(pipe, tmp_path / "pipe.skprep", sign_with=keys["mine"][0])
    assert os.path.isfile(path + ".sig")
    skprep.save(pipe, path)
    assert not os.path.exists(path + ".sig")
    assert sorted(os.listdir(tmp_path)) == ["pipe.skprep"]


def test_model_signing_cli_verifies_skprep_signatures(fitted, keys, tmp_path):
    pipe, _ = fitted
    private, public = keys["mine"]
    path = skprep.save(pipe, tmp_path / "pipe.skprep", sign_with=private)
    done = _model_signing("verify", "key", "--signature", path + ".sig", "--public_key",
                          str(public), path)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(path, "ab") as fh:
        fh.write(b"tampered")
    done = _model_signing("verify", "key", "--signature", path + ".sig", "--public_key",
                          str(public), path)
    assert done.returncode != 0


def test_skprep_verifies_model_signing_signatures(fitted, keys, tmp_path):
    pipe, X = fitted
    private, public = keys["mine"]
    path = skprep.save(pipe, tmp_path / "pipe.skprep")
    done = _model_signing("sign", "key", "--private_key", str(private), "--signature",
                          path + ".sig", path)
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = skprep.load(path, verify_with=public)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    with pytest.raises(BundleSignatureError):
        skprep.load(path, verify_with=keys["other"][1])
    # and its Python API, too
    from model_signing import signing

    signing.Config().use_elliptic_key_signer(private_key=keys["other"][0]).sign(
        path, path + ".sig")
    assert skprep.load(path, verify_with=keys["other"][1]) is not None


def test_signing_is_imported_only_when_used(fitted, tmp_path):
    path = skprep.save(fitted[0], tmp_path / "a.skprep")
    code = (
        "import sys, skprep.persistence as p\n"
        f"assert p.signature_status({path!r}) == 'unsigned'\n"
        "assert 'model_signing' not in sys.modules, 'model_signing imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)), timeout=120)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- command line


def test_cli_info_shows_the_signature_status(fitted, keys, tmp_path, capsys):
    from skprep.cli import main

    private, public = keys["mine"]
    unsigned = skprep.save(fitted[0], tmp_path / "u.skprep")
    signed = skprep.save(fitted[0], tmp_path / "s.skprep", sign_with=private)
    expected = [([unsigned], 0, "signature: unsigned"),
                ([signed], 0, "signature: signed (not verified)"),
                ([signed, "--verify-with", str(public)], 0, "signature: verified"),
                ([signed, "--verify-with", str(keys["other"][1])], 1, "signature: INVALID: ")]
    for args, status, line in expected:
        assert main(["info", *args]) == status
        out, err = capsys.readouterr()
        assert line in out
        assert ("steps:" in out) == (status == 0)  # a bundle failing its signature stays shut
        assert ("failed its signature" in err) == (status == 1)
    assert main(["info", signed, "--json", "--verify-with", str(public)]) == 0
    assert json.loads(capsys.readouterr().out)["signature"] == "verified"


@pytest.mark.keras
def test_cli_predict_verifies_before_loading(keys, tmp_path, sample_photos, capsys):
    keras = pytest.importorskip("keras")
    from PIL import Image

    from skprep import ImageLoader, KerasFeatureExtractor
    from skprep.cli import main

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, keras.layers.GlobalAveragePooling2D()(
        keras.layers.Conv2D(4, 3)(inp)))
    images = []
    for i, photo in enumerate(sample_photos):
        images.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(photo[:64, :64]).save(images[-1])
    pipe = Pipeline([("loader", ImageLoader(target_size=(8, 8))),
                     ("extractor", KerasFeatureExtractor(model)),
                     ("head", LogisticRegression())]).fit(images, [0, 1])
    private, public = keys["mine"]
    path = skprep.save(pipe, tmp_path / "pipe.skprep", sign_with=private)
    assert main(["predict", path, *images, "--verify-with", str(public)]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].startswith("path,prediction") and len(rows) == 3
    assert main(["predict", path, *images, "--verify-with", str(keys["other"][1])]) == 1
    assert "does not verify" in capsys.readouterr().err
    os.unlink(path + ".sig")
    assert main(["predict", path, *images, "--verify-with", str(public)]) == 1
    assert "has no signature" in capsys.readouterr().err
