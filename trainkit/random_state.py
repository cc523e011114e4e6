"""A compact, exact snapshot of ``trainkit.random``'s stream for checkpoints.

``random.get_state()`` is 1024 MT19937 keys of 624 words: 2.56 MB, whatever the model. After
``seed(s)`` every key is a pure function of ``s`` and of how many times that generator has
been regenerated ("twisted"), so the snapshot is the seed, a twist count and a read position
per generator: about 6 KB (``pack``). ``unpack`` replays the twists. A generator that does not
match its seed within a bounded search (the stream was reseeded with another seed, or set
from elsewhere) is stored whole: the snapshot is always exact, only sometimes larger.

``Packer`` remembers where each generator was at the previous snapshot, so a run pays for
each twist once in total, not once per checkpoint.
"""
import zlib

import numpy as np

try:  # the generator's internals: trainkit.random_streams (trainkit.random before they moved)
    from . import random_streams as _random
except ImportError:  # pragma: no cover
    from . import random as _random

_MAX_STEPS = 2048   # twists searched per snapshot before a generator is stored whole


def _seed_keys(seed):
    base = (int(seed) % 2**32 * _random._SEED_MAGIC) % 2**32
    seeds = (base + np.arange(_random._NUM_STATES, dtype=np.uint64)) % 2**32
    return _random._init_keys(seeds.astype(np.uint32))


def _twist_rows(keys, rows):
    out = np.empty((len(rows), keys.shape[1]), keys.dtype)
    _random._twist(keys[rows], out)
    keys[rows] = out


class Packer:
    """``pack(state, seed)``: a compact dict for ``random.get_state()`` output (see the module doc)."""

    def __init__(self):
        self._seed = None
        self._twists = None
        self._keys = None

    def prime(self, packed):
        """Start from a snapshot read back on resume (its twist counts are known)."""
        if isinstance(packed, dict) and packed.get("format") == "trainkit-random/1" and not packed.get("raw_rows"):
            state = unpack(packed)
            self._seed = int(packed["seed"])
            self._twists = np.frombuffer(zlib.decompress(packed["twists"]), np.uint32).astype(np.int64)
            self._keys = np.array(state["key"])

    def pack(self, state, seed):
        key = np.asarray(state["key"], np.uint32)
        pos = np.asarray(state["pos"], np.int64)
        if seed is None:
            return _raw(state)
        seed = int(seed) % 2**32
        pending = self._search(key, seed, fresh=self._seed != seed)
        if len(pending) and self._seed is not None:  # reseeded since the last snapshot: search from the seed
            pending = self._search(key, seed, fresh=True)
        out = {"format": "trainkit-random/1", "seed": seed,
               "twists": zlib.compress(self._twists.astype(np.uint32).tobytes()),
               "pos": zlib.compress(pos.astype(np.uint16).tobytes()),
               "raw_rows": None, "raw_keys": None, "shuffle": state.get("shuffle")}
        if len(pending):  # not reachable from the seed: keep those generators whole
            out["raw_rows"] = pending.astype(np.int32).tobytes()
            out["raw_keys"] = zlib.compress(key[pending].tobytes(), 1)
            self._seed = None
        return out

    def _search(self, key, seed, fresh):
        if fresh:
            self._seed = seed
            self._twists = np.zeros(len(key), np.int64)
            self._keys = _seed_keys(seed)
        keys, twists = self._keys, self._twists
        pending = np.flatnonzero((keys != key).any(axis=1))
        steps = 0
        while len(pending) and steps < _MAX_STEPS:
            _twist_rows(keys, pending)
            twists[pending] += 1
            pending = pending[(keys[pending] != key[pending]).any(axis=1)]
            steps += 1
        return pending


def _raw(state):
    return {"format": "trainkit-random/raw", "state": state}


def pack(state, seed):
    """One-off ``Packer().pack``."""
    return Packer().pack(state, seed)


def unpack(packed):
    """The ``random.get_state()`` dict that ``pack`` was given, exactly."""
    if not isinstance(packed, dict):
        raise ValueError(f"not a packed random state: {type(packed).__name__}")
    if packed.get("format") == "trainkit-random/raw":
        return packed["state"]
    if "key" in packed:  # a plain get_state() snapshot (checkpoints of earlier trainkit versions)
        return packed
    if packed.get("format") != "trainkit-random/1":
        raise ValueError(f"unknown random state format {packed.get('format')!r}")
    n = _random._NUM_STATES
    twists = np.frombuffer(zlib.decompress(packed["twists"]), np.uint32).astype(np.int64)
    pos = np.frombuffer(zlib.decompress(packed["pos"]), np.uint16).astype(np.int64)
    if len(twists) != n or len(pos) != n:
        raise ValueError("packed random state has the wrong number of generators")
    keys = _seed_keys(packed["seed"])
    for step in range(int(twists.max(initial=0))):
        _twist_rows(keys, np.flatnonzero(twists > step))
    if packed.get("raw_rows") is not None:
        rows = np.frombuffer(packed["raw_rows"], np.int32)
        keys[rows] = np.frombuffer(zlib.decompress(packed["raw_keys"]), np.uint32).reshape(len(rows), -1)
    state = {"version": 1, "key": keys, "pos": pos}
    if packed.get("shuffle") is not None:
        state["shuffle"] = packed["shuffle"]
    return state
