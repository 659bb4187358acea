"""A seeded bundle fuzzer: every mutant loads identically or ends in a BundleError.

Each case takes a real bundle and damages or forges it the way a broken disk or an
attacker would: byte flips, truncations, garbage around the file, members swapped,
renamed, duplicated, dropped or added, headers that lie about sizes, compression
methods or encryption, manifest JSON edited (as text and as structure), the skops
payload rewritten to name untrusted types and functions (tripwires that leave a file
behind if anything runs them), its inner archive damaged. "Consistent" mutants also
rewrite the manifest's checksums to match, as a forger would.

Every case must end in one of two ways:

* a :class:`~skprep.exceptions.BundleError` (any subclass) that names the file;
* a successful load, which for mutants that were *not* made consistent must predict
  exactly like the original (damage is never silently accepted);

and never in another exception, never run a tripwire, never hang (a per-case alarm).

``SKPREP_FUZZ_CASES`` (default 2000), ``SKPREP_FUZZ_KERAS_CASES`` (default 40) and
``SKPREP_FUZZ_SEED`` (default 20) set the run; e.g. ``SKPREP_FUZZ_CASES=200000`` for a
long one. A failure prints the seed, case number and mutation, enough to replay it.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import struct
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from bundle_craft import TRIPWIRE_ENV, Entry, build_zip, manifest_for, read_members
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skprep
from skprep.exceptions import BundleError

CASES = int(os.environ.get("SKPREP_FUZZ_CASES", "2000"))
KERAS_CASES = int(os.environ.get("SKPREP_FUZZ_KERAS_CASES", "40"))
SEED = int(os.environ.get("SKPREP_FUZZ_SEED", "20"))
CASE_SECONDS = 10  # a case still running after this long is a hang

# (module, name) a forged payload may name: code, and tripwires that record being run
HOSTILE = [("bundle_craft", "Tripwire"), ("bundle_craft", "tripwire"), ("os", "system"),
           ("builtins", "eval"), ("builtins", "exec"), ("subprocess", "Popen"),
           ("posix", "system"), ("shutil", "rmtree"), ("pickle", "loads"),
           ("importlib", "import_module"), ("numpy", "load"), ("sklearn.utils", "resample"),
           ("skprep.persistence", "load"), ("builtins", "__import__")]
ODD_VALUES = [None, True, False, 0, -1, 1, 2, 10**30, 1.5, float("1e308"), "", "x",
              "../../etc/passwd", "models/0.keras", "manifest.json", [], [1, "a"], {},
              {"sha256": "0" * 64, "size": 1}, "0" * 64]


@dataclass
class Mutant:
    kind: str
    raw: bytes
    must_fail: bool  # damage that a correct reader cannot accept
    consistent: bool = False  # the manifest's checksums were rewritten to match


def _is_read(schema: dict, target: dict) -> bool:
    """Whether skops reads ``target``: it and its ancestors each have an id of their own."""
    counts: dict = {}
    stack: list = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            counts[node.get("__id__")] = counts.get(node.get("__id__"), 0) + 1
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    stack = [(schema, [])]
    while stack:
        node, ancestors = stack.pop()
        if isinstance(node, dict):
            chain = ancestors + ([node["__id__"]] if "__id__" in node else [])
            if node is target:
                return all(counts[i] == 1 for i in chain)
            stack.extend((child, chain) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, ancestors) for child in node)
    raise AssertionError("node not in schema")


class BundleFuzzer:
    """Mutants of one bundle; each method draws one kind with the given ``rng``."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self.members = read_members(raw)
        self.manifest = json.loads(self.members["manifest.json"])
        self.names = list(self.members)
        self.data_regions = []
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            for info in zf.infolist():
                if info.filename == "manifest.json":
                    continue
                name_len, extra_len = struct.unpack(
                    "<HH", raw[info.header_offset + 26:info.header_offset + 30])
                start = info.header_offset + 30 + name_len + extra_len
                self.data_regions.append((start, start + info.compress_size))
        self.kinds: list[tuple[str, Callable[[random.Random], Mutant]]] = [
            ("flip", self.flip), ("truncate", self.truncate), ("garbage", self.garbage),
            ("swap", self.swap), ("rename", self.rename), ("duplicate", self.duplicate),
            ("drop", self.drop), ("add", self.add), ("method", self.method),
            ("size", self.size), ("encrypted", self.encrypted),
            ("manifest-text", self.manifest_text), ("manifest-field", self.manifest_field),
            ("hostile-type", self.hostile_type), ("schema-field", self.schema_field),
            ("payload-archive", self.payload_archive),
        ]
        if any(name.startswith("models/") for name in self.names):
            self.kinds += [("keras-archive", self.keras_archive),
                           ("keras-config", self.keras_config)] * 4

    # -- helpers
    def _entries(self, members: dict[str, bytes] | None = None) -> list[Entry]:
        return [Entry(n, d) for n, d in (members or self.members).items()]

    def _consistent(self, kind: str, members: dict[str, bytes], must_fail: bool) -> Mutant:
        manifest = manifest_for(self.manifest, members)
        members = dict(members, **{"manifest.json": json.dumps(manifest).encode()})
        return Mutant(kind, build_zip(self._entries(members)), must_fail, consistent=True)

    def _in_data(self, pos: int) -> bool:
        return any(start <= pos < end for start, end in self.data_regions)

    # -- damage to the file
    def flip(self, rng):
        raw = bytearray(self.raw)
        spots = [rng.randrange(len(raw)) for _ in range(rng.choice((1, 1, 2, 4)))]
        for pos in spots:
            raw[pos] ^= rng.randrange(1, 256)
        return Mutant("flip", bytes(raw), all(self._in_data(p) for p in spots))

    def truncate(self, rng):
        return Mutant("truncate", self.raw[:rng.randrange(len(self.raw))], True)

    def garbage(self, rng):
        junk = rng.randbytes(rng.randrange(1, 64))
        if rng.random() < 0.5:
            return Mutant("garbage", junk + self.raw, False)
        return Mutant("garbage", self.raw + junk, False)

    # -- zip structure (manifest untouched)
    def swap(self, rng):
        a, b = rng.sample(self.names, 2)
        members = dict(self.members, **{a: self.members[b], b: self.members[a]})
        return Mutant("swap", build_zip(self._entries(members)), True)

    def rename(self, rng):
        old = rng.choice(self.names)
        new = rng.choice(["x", old + "x", old.upper(), "../" + old, "/" + old, old[:-1],
                          "manifest.json" if old != "manifest.json" else "m.json"])
        entries = [Entry(new if n == old else n, d) for n, d in self.members.items()]
        return Mutant("rename", build_zip(entries), True)

    def duplicate(self, rng):
        name = rng.choice(self.names)
        extra = Entry(name, rng.choice([self.members[name], rng.randbytes(20), b""]))
        entries = self._entries()
        entries.insert(rng.randrange(len(entries) + 1), extra)
        return Mutant("duplicate", build_zip(entries), True)

    def drop(self, rng):
        name = rng.choice(self.names)
        return Mutant("drop", build_zip([e for e in self._entries() if e.name != name]), True)

    def add(self, rng):
        entries = self._entries() + [Entry(rng.choice(["x.py", "models/9.keras", "a/../b"]),
                                           rng.randbytes(rng.randrange(50)))]
        return Mutant("add", build_zip(entries), True)

    def method(self, rng):
        name = rng.choice(self.names)
        method = rng.choice([1, 6, 8, 9, 12, 14, 18, 19, 95, 97, 98, 99, 65535])
        entries = [Entry(e.name, e.data, method=method if e.name == name else 0)
                   for e in self._entries()]
        return Mutant("method", build_zip(entries), True)

    def size(self, rng):
        name = rng.choice(self.names)
        true = len(self.members[name])
        lie = rng.choice([0, 1, true - 1, true + 1, true * 2, 2**31, 2**32 - 1])
        entries = [Entry(e.name, e.data, size=lie if e.name == name else None)
                   for e in self._entries()]
        return Mutant("size", build_zip(entries), lie != true)

    def encrypted(self, rng):
        name = rng.choice(self.names)
        entries = [Entry(e.name, e.data, flags=1 if e.name == name else 0)
                   for e in self._entries()]
        return Mutant("encrypted", build_zip(entries), True)

    # -- the manifest
    def manifest_text(self, rng):
        text = bytearray(self.members["manifest.json"])
        for _ in range(rng.choice((1, 2, 8))):
            op, pos = rng.randrange(3), rng.randrange(len(text))
            if op == 0:
                text[pos] = rng.randrange(256)
            elif op == 1:
                del text[pos:pos + rng.randrange(1, 40)]
            else:
                text[pos:pos] = rng.choice([b"[" * 100000, b"\xff\xfe", b"NaN", b'"a":1,', b"}"])
        members = dict(self.members, **{"manifest.json": bytes(text)})
        return Mutant("manifest-text", build_zip(self._entries(members)), False)

    def manifest_field(self, rng):
        manifest = json.loads(json.dumps(self.manifest))
        key = rng.choice(sorted(manifest))
        must_fail = key in ("format", "format_version", "serialization", "payload", "members")
        if key == "members" and rng.random() < 0.7:
            target = manifest["members"][rng.choice(sorted(manifest["members"]))]
            field = rng.choice(["sha256", "size"])
            target[field] = rng.choice([v for v in ODD_VALUES if v != target[field]])
        elif rng.random() < 0.2:
            del manifest[key]
            must_fail = must_fail and key != "versions"
        else:
            manifest[key] = rng.choice([v for v in ODD_VALUES if v != manifest[key]])
        must_fail = must_fail or (key == "versions" and not isinstance(manifest.get(key), dict)
                                  and key in manifest)
        members = dict(self.members, **{"manifest.json": json.dumps(manifest).encode()})
        return Mutant("manifest-field", build_zip(self._entries(members)), must_fail)

    # -- the skops payload, forged consistently (checksums rewritten to match)
    def _payload(self) -> tuple[str, dict[str, bytes], dict]:
        name = self.manifest["payload"]
        inner = read_members(self.members[name])
        return name, inner, json.loads(inner["schema.json"])

    def _nodes(self, schema) -> list[dict]:
        return self._nodes_with(schema, "__module__")

    def _with_schema(self, kind, name, inner, schema, must_fail):
        inner = dict(inner, **{"schema.json": json.dumps(schema).encode()})
        payload = build_zip([Entry(n, d) for n, d in inner.items()])
        return self._consistent(kind, dict(self.members, **{name: payload}), must_fail)

    def hostile_type(self, rng):
        name, inner, schema = self._payload()
        node = rng.choice([n for n in self._nodes(schema) if n.get("__loader__") in
                           ("ObjectNode", "FunctionNode", "TypeNode", "ReduceNode")])
        node["__module__"], node["__class__"] = rng.choice(HOSTILE)
        if rng.random() < 0.3:
            node["__loader__"] = rng.choice(["FunctionNode", "TypeNode", "ObjectNode",
                                             "ReduceNode", "MethodNode"])
        # skops builds each __id__ once: a node repeating an earlier id (skops writes
        # Python's id() of objects, and freed temporaries' ids come back) stands for
        # that object and is never read, nor anything below it; only a node whose
        # ancestors and itself all have their own ids must be refused
        ids = [n.get("__id__") for n in self._nodes(schema)]
        if rng.random() < 0.7:
            node["__id__"] = max(i for i in ids if isinstance(i, int)) + 1
        return self._with_schema("hostile-type", name, inner, schema, _is_read(schema, node))

    def schema_field(self, rng):
        name, inner, schema = self._payload()
        node = rng.choice(self._nodes(schema))
        key = rng.choice(sorted(node))
        if rng.random() < 0.2:
            del node[key]
        else:
            node[key] = rng.choice(ODD_VALUES + [rng.choice(list(inner))])
        return self._with_schema("schema-field", name, inner, schema, False)

    def _damage_archive(self, kind: str, name: str, rng) -> Mutant:
        """Damage one member of an inner archive (skops payload, Keras model), consistently."""
        inner = read_members(self.members[name])
        target = rng.choice(list(inner))
        if rng.random() < 0.5:
            data = bytearray(inner[target])
            data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
            inner[target] = bytes(data)
            archive = build_zip([Entry(n, d) for n, d in inner.items()])
            must_fail = False
        else:
            how = rng.choice(["drop", "method", "size", "duplicate"])
            entries = [Entry(n, d) for n, d in inner.items() if how != "drop" or n != target]
            if how == "duplicate":
                entries.append(Entry(target, b"{}"))
            for e in entries:
                if e.name == target and how == "method":
                    e.method = rng.choice([9, 12, 14, 99])
                if e.name == target and how == "size":
                    e.size = len(e.data) + rng.choice([-1, 1, 2**31])
            archive = build_zip(entries)
            must_fail = how != "drop" or target in ("schema.json", "config.json")
        return self._consistent(kind, dict(self.members, **{name: archive}), must_fail)

    def payload_archive(self, rng):
        return self._damage_archive("payload-archive", self.manifest["payload"], rng)

    def keras_archive(self, rng):
        models = [n for n in self.names if n.startswith("models/")]
        return self._damage_archive("keras-archive", rng.choice(models), rng)

    def keras_config(self, rng):
        name = rng.choice([n for n in self.names if n.startswith("models/")])
        inner = read_members(self.members[name])
        config = json.loads(inner["config.json"])
        nodes = [n for n in self._nodes_with(config, "class_name")]
        node = rng.choice(nodes)
        if rng.random() < 0.5:
            node["module"], node["class_name"] = rng.choice(HOSTILE)
            node["registered_name"] = rng.choice([None, f"{node['module']}>{node['class_name']}"])
            must_fail = True
        else:
            key = rng.choice(sorted(node))
            node[key] = rng.choice(ODD_VALUES)
            must_fail = False
        inner["config.json"] = json.dumps(config).encode()
        archive = build_zip([Entry(n, d) for n, d in inner.items()])
        return self._consistent("keras-config", dict(self.members, **{name: archive}),
                                must_fail)

    @staticmethod
    def _nodes_with(tree, key: str) -> list[dict]:
        found, stack = [], [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if key in node:
                    found.append(node)
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return found

    def mutant(self, rng: random.Random) -> Mutant:
        _, make = rng.choice(self.kinds)
        return make(rng)


# ---------------------------------------------------------------- running cases


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout


def _run_case(mutant: Mutant, path, check_loaded) -> tuple[str, str]:
    """Load one mutant: ("refused" or "loaded", "" when it behaved, else what went wrong)."""
    path.write_bytes(mutant.raw)
    alarm = getattr(signal, "alarm", lambda seconds: 0)  # no SIGALRM on Windows
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _alarm)
    alarm(CASE_SECONDS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = skprep.load(path)
    except BundleError as exc:
        named = str(path) in str(exc)
        return "refused", "" if named else f"error does not name the file: {exc}"
    except CaseTimeout:
        return "hung", f"no answer after {CASE_SECONDS} s"
    except Exception as exc:  # noqa: BLE001 - exactly what the fuzzer hunts
        return "crashed", f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    finally:
        alarm(0)
    if mutant.must_fail:
        return "loaded", "loaded a bundle it had to refuse"
    if not mutant.consistent and not check_loaded(loaded):
        return "loaded", "loaded damaged content that behaves differently"
    return "loaded", ""


def _fuzz(raw: bytes, n_cases: int, seed: int, tmp_path, check_loaded) -> dict:
    fuzzer = BundleFuzzer(raw)
    tripwire = tmp_path / "tripwire-ran"
    os.environ[TRIPWIRE_ENV] = str(tripwire)
    failures, kinds, outcomes, slowest = [], {}, {}, 0.0
    try:
        for case in range(n_cases):
            rng = random.Random(seed * 1_000_003 + case)
            mutant = fuzzer.mutant(rng)
            start = time.perf_counter()
            outcome, problem = _run_case(mutant, tmp_path / "mutant.skprep", check_loaded)
            slowest = max(slowest, time.perf_counter() - start)
            kinds[mutant.kind] = kinds.get(mutant.kind, 0) + 1
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if problem:
                failures.append(f"seed={seed} case={case} {mutant.kind}: {problem}")
            if tripwire.exists():
                failures.append(f"seed={seed} case={case} {mutant.kind}: A TRIPWIRE RAN")
                tripwire.unlink()
    finally:
        del os.environ[TRIPWIRE_ENV]
    return {"failures": failures, "kinds": kinds, "slowest": slowest, "outcomes": outcomes}


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    pipe = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression())])
    pipe.fit(X, (X[:, 0] > 0).astype(int))
    path = skprep.save(pipe, tmp_path_factory.mktemp("fuzz") / "tiny.skprep")
    with open(path, "rb") as fh:
        return fh.read(), pipe, X


def test_tripwires_are_live(tmp_path):
    """The fuzzer's tripwires do leave a trace when run (else 'nothing ran' means nothing)."""
    from bundle_craft import Tripwire

    os.environ[TRIPWIRE_ENV] = str(tmp_path / "ran")
    try:
        Tripwire()
    finally:
        del os.environ[TRIPWIRE_ENV]
    assert (tmp_path / "ran").read_text() == "tripwire ran\n"


def test_every_mutant_of_a_small_bundle_is_refused_or_harmless(tiny_bundle, tmp_path):
    raw, pipe, X = tiny_bundle
    expected = pipe.predict_proba(X)

    def same(loaded) -> bool:
        return np.array_equal(loaded.predict_proba(X), expected)

    report = _fuzz(raw, CASES, SEED, tmp_path, same)
    assert not report["failures"], "\n".join(report["failures"][:30])
    # every kind of mutation was drawn, and no case came near the hang limit
    assert len(report["kinds"]) == 16 or CASES < 500, report["kinds"]
    assert report["slowest"] < CASE_SECONDS / 2
    print(f"\n{CASES} mutants: {report['outcomes']}, by kind {report['kinds']}, slowest "
          f"{report['slowest']:.3f} s")


@pytest.mark.keras
def test_every_mutant_of_a_keras_bundle_is_refused_or_harmless(tmp_path):
    keras = pytest.importorskip("keras")
    from skprep import KerasFeatureExtractor

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, keras.layers.GlobalAveragePooling2D()(
        keras.layers.Conv2D(4, 3)(inp)))
    ext = KerasFeatureExtractor(model).fit()
    path = skprep.save(ext, tmp_path / "keras.skprep")
    images = np.random.default_rng(0).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    expected = ext.transform(images)

    def same(loaded) -> bool:
        return np.array_equal(loaded.transform(images), expected)

    with open(path, "rb") as fh:
        raw = fh.read()
    report = _fuzz(raw, KERAS_CASES, SEED, tmp_path, same)
    assert not report["failures"], "\n".join(report["failures"][:30])
    print(f"\n{KERAS_CASES} Keras-bundle mutants: {report['outcomes']}, by kind "
          f"{report['kinds']}, slowest {report['slowest']:.3f} s")
