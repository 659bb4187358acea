"""Refits, clones and reloads of a fitted KerasFeatureExtractor, with and without the model cache.

Model selection refits and clones the extractor many times, and ``Pipeline(memory=...)``
or joblib reload it from pickles. Each case below ends with a ``transform`` of one batch;
the ratio is its time over ``transform`` alone. "cache off" empties skprep's model cache
before each run (every fit builds the Keras model and traces its function again, as
skprep 0.1 did); "cache on" is the default.

    python benchmarks/bench_refit.py [--quick]

Target (issue 14): refit + transform and clone + fit + transform within 1.5x of
transform alone, MobileNetV2 at 96 px, batch of 32. Writes benchmarks/results/refit.json.
"""

from __future__ import annotations

import pickle

import numpy as np
from _common import machine_info, parse_args, write_results

from skprep import quiet_tensorflow


def _cases(extractor, batch):
    from sklearn.base import clone

    return {
        "transform": lambda: extractor.transform(batch),
        "fit + transform (refit)": lambda: extractor.fit(batch).transform(batch),
        "clone + fit + transform": lambda: clone(extractor).fit(batch).transform(batch),
        "unpickle + transform": lambda: pickle.loads(pickle.dumps(extractor)).transform(batch),
    }


def main(argv=None) -> dict:
    args = parse_args(argv, __doc__.splitlines()[0], repeats=5)
    quiet_tensorflow()
    import keras

    from skprep import KerasFeatureExtractor
    from skprep._model_cache import MODEL_CACHE

    keras.utils.set_random_seed(0)
    size = 96
    batch = np.random.default_rng(0).uniform(-1, 1, (32, size, size, 3)).astype(np.float32)
    extractor = KerasFeatureExtractor("mobilenet_v2", weights=None, input_shape=(size, size, 3))
    extractor.fit(batch)
    pickle.dumps(extractor)  # the first serialization (once per built model) is not timed
    cases = _cases(extractor, batch)
    results: dict = {}
    # cache off: every run builds a model (seconds), so fewer runs (its spread is small
    # next to the effect); cache on: the usual repeats
    for setting, cache_size, repeats in (("cache off", 0, 1 if args.quick else 3),
                                         ("cache on", 4, args.repeats)):
        MODEL_CACHE.resize(cache_size)
        times: dict = {name: [] for name in cases}
        cases["transform"]()  # warm-up
        for _ in range(repeats):  # round-robin: a load change hits every case alike
            for name, fn in cases.items():
                MODEL_CACHE.clear()
                if cache_size:
                    fn()  # refill the cache (as the first fit of a search does), untimed
                start = _now()
                fn()
                times[name].append(_now() - start)
        results[setting] = {name: float(np.median(values)) for name, values in times.items()}
    MODEL_CACHE.resize(4)
    _report(results)
    payload = {"machine": machine_info(), "model": "MobileNetV2", "size": size, "batch": 32,
               "repeats": args.repeats, "median_s": results,
               "target": "refit and clone + fit within 1.5x of transform (cache on)"}
    write_results("refit", payload)
    return payload


def _now() -> float:
    import time

    return time.perf_counter()


def _report(results: dict) -> None:
    print("| case (MobileNetV2, 96 px, batch 32) | cache off | ratio | cache on | ratio |")
    print("|---|---|---|---|---|")
    base_off = results["cache off"]["transform"]
    base_on = results["cache on"]["transform"]
    for name in results["cache on"]:
        off, on = results["cache off"][name], results["cache on"][name]
        print(f"| {name} | {off:.3f} s | {off / base_off:.2f}x | {on:.3f} s | "
              f"{on / base_on:.2f}x |")


if __name__ == "__main__":
    main()
