"""MXNet 1.9.1's CPU random number streams, reproduced bit for bit with numpy.

MXNet's CPU samplers (``nd.random.uniform``, ``nd.random.normal``, the
initializers) draw from a bank of 1024 ``std::mt19937`` generators. State ``i``
is seeded with ``(seed * 127 + i) mod 2**32``. A request for N samples is cut
into ``nthread = min(ceil(N / 64), 1024)`` chunks of ``step = ceil(N / nthread)``
and chunk ``t`` is filled from state ``t``; states are never re-seeded between
requests (see spec/behaviour.md section 2.9).

Python-level MT19937 would be far too slow, so the 1024 generators are kept as
one ``(1024, 624)`` key matrix and twisted/tempered together with numpy, in
blocks of states small enough to stay in cache.

Only the samplers with MXNet fixtures are reproduced, and both are bit exact
against them: ``uniform`` and ``normal`` (libstdc++'s polar method, with
glibc's ``logf`` replayed in numpy). The other distributions (``mx.nd.random``'s
gamma, poisson, randint, ...) come from ``numpy_generator()``: a numpy generator
keyed by draws from the same bank, so ``mx.random.seed`` makes them reproducible
too and they advance the bank as MXNet's samplers do.

These functions take and return numpy arrays; ``mx.random``/``mx.nd.random``
(``trainkit.random``, ``trainkit.ndarray.random``) wrap them into NDArrays.
"""
import math

import numpy as np

__all__ = ["seed", "uniform", "normal", "numpy_generator", "permutation", "get_state", "set_state"]

_NUM_STATES = 1024       # kNumRandomStates of MXNet's parallel random resource
_SEED_MAGIC = 127        # kRandMagic: MXNet spreads the global seed with it
_MIN_PER_CHUNK = 64      # MXNet never gives a chunk fewer samples than this
_BLOCK = 128             # states processed together (a 128x624 uint32 block fits L2)

# MT19937 constants.
_N, _M = 624, 397
_U32 = np.uint32
_UPPER, _LOWER, _MATRIX_A = _U32(0x80000000), _U32(0x7FFFFFFF), _U32(0x9908B0DF)
_ONE = _U32(1)
# Raw values at or above 0xFFFFFF80 round up to 2**32 as float32. libstdc++'s
# generate_canonical then returns the largest float below 1, which is exactly
# what 0xFFFFFF7F converts to, so clamping the integer does the same job.
_RAW_MAX_BELOW_ONE = _U32(0xFFFFFF7F)
_TWO_POW_M32 = np.float32(2.0 ** -32)
_SUPPORTED_FLOATS = (np.float32, np.float64, np.float16)


def _init_keys(seeds):
    """init_genrand for many generators at once (std::mt19937::seed)."""
    key = np.empty((len(seeds), _N), _U32)
    key[:, 0] = seeds
    prev = key[:, 0]
    for i in range(1, _N):
        cur = key[:, i]
        np.right_shift(prev, _U32(30), out=cur)
        cur ^= prev
        cur *= _U32(1812433253)      # wraps mod 2**32, as in C
        cur += _U32(i)
        prev = cur
    return key


def _twist_part(hi_src, lo_src, far, out):
    """out = far ^ (y >> 1) ^ (0x9908b0df if y odd), y = hi_src[upper bit] | lo_src[lower bits]."""
    y = np.bitwise_and(hi_src, _UPPER)
    mag = np.bitwise_and(lo_src, _LOWER)
    y |= mag
    np.bitwise_and(y, _ONE, out=mag)
    np.negative(mag, out=mag)       # 0 or 0xFFFFFFFF: a branch-free select
    mag &= _MATRIX_A
    y >>= _ONE
    y ^= mag
    np.bitwise_xor(y, far, out=out)


def _twist(src, dst):
    """One MT19937 regeneration of every row of src into dst.

    In the sequential algorithm entry i reads entries i+1 and i+397; past
    i = 227 the i+397 entry has already been regenerated, so the rows are
    updated in four column ranges that each only read finished values.
    """
    _twist_part(src[:, 0:227], src[:, 1:228], src[:, 397:624], dst[:, 0:227])
    _twist_part(src[:, 227:454], src[:, 228:455], dst[:, 0:227], dst[:, 227:454])
    _twist_part(src[:, 454:623], src[:, 455:624], dst[:, 227:396], dst[:, 454:623])
    _twist_part(src[:, 623:624], dst[:, 0:1], dst[:, 396:397], dst[:, 623:624])


def _temper(key, out):
    np.right_shift(key, _U32(11), out=out)
    out ^= key
    t = np.left_shift(out, _U32(7))
    t &= _U32(0x9D2C5680)
    out ^= t
    np.left_shift(out, _U32(15), out=t)
    t &= _U32(0xEFC60000)
    out ^= t
    np.right_shift(out, _U32(18), out=t)
    out ^= t


def _raw_to_unit(raw, dest):
    """u = float32(raw) * 2**-32, kept below 1 (std::generate_canonical<float>)."""
    np.minimum(raw, _RAW_MAX_BELOW_ONE, out=raw)
    np.multiply(raw, _TWO_POW_M32, out=dest, dtype=np.float32)


def _chunk_counts(n):
    """How many of the n samples each state produces, MXNet's way."""
    if n == 0:
        return np.zeros(0, np.int64)
    nthread = min(-(-n // _MIN_PER_CHUNK), _NUM_STATES)
    step = -(-n // nthread)
    # With many states the last few chunks can be empty (e.g. n=70000).
    return np.clip(n - step * np.arange(nthread, dtype=np.int64), 0, step)


class _Bank:
    """The 1024 MT19937 states: untempered keys plus a read position each.

    pos[t] == 624 means the key is used up and must be twisted before the
    next draw, which is also std::mt19937's state right after seeding.
    """

    _seeded = (None, None)  # the last seed's fresh keys: making them costs 4 ms, and runs reseed with one value

    def __init__(self, seed_state=0):
        self.seed(seed_state)

    def seed(self, seed_state):
        self._key, self._seed = None, seed_state  # the keys are made on first use (import seeds too)
        self._shared = False  # whether a snapshot (get_state) reads the keys: a draw then copies them first
        self.pos = np.full(_NUM_STATES, _N, np.int64)

    def snapshot(self):
        """The keys and positions as they are now, read-only, without copying 2.5 MB."""
        self._shared = True
        key = self.key.view()
        key.flags.writeable = False
        return key, self.pos.copy()

    @property
    def key(self):
        if self._key is None:
            last, keys = _Bank._seeded
            if last != self._seed:
                base = (int(self._seed) * _SEED_MAGIC) % 2**32
                seeds = (base + np.arange(_NUM_STATES, dtype=np.uint64)) % 2**32
                keys = _init_keys(seeds.astype(_U32))
                _Bank._seeded = (self._seed, keys)
            self._key, self._shared = keys, True  # shared with the cache until a draw writes them
        return self._key

    @key.setter
    def key(self, value):
        self._key, self._shared = value, False

    def draw_unit(self, counts, out=None):
        """The next counts[t] uniform [0,1) float32 values of each state t, concatenated."""
        counts = np.asarray(counts, np.int64)
        offsets = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        if out is None:
            out = np.empty(offsets[-1], np.float32)
        for b0 in range(0, len(counts), _BLOCK):
            b1 = min(b0 + _BLOCK, len(counts))
            self._draw_block(b0, counts[b0:b1], offsets[b0:b1], out)
        return out

    def _draw_block(self, b0, counts, offsets, out):
        active = counts > 0
        if not active.any():
            return
        if active.all():
            rows = slice(b0, b0 + len(counts))
        else:
            rows = np.flatnonzero(active) + b0
            counts, offsets = counts[active], offsets[active]
        pos = self.pos[rows]
        end = pos + counts                 # stream columns [pos, end) are consumed
        twists = (end - 1) // _N           # regenerations each state needs
        n_twists = int(twists.max())
        lo, hi = int(pos.min()), int(end.max())

        # Rows that start at the same column and want the same count can be
        # written straight into the output; otherwise go through a window.
        aligned = lo == pos.max() and counts.min() == counts.max()
        if aligned:
            c = int(counts[0])
            dest = out[offsets[0]:offsets[0] + len(counts) * c].reshape(len(counts), c)
        else:
            dest = np.empty((len(counts), hi - lo), np.float32)

        cur = self.key[rows]
        new_key = cur.copy() if n_twists and (twists == 0).any() else cur
        nxt = np.empty_like(cur) if n_twists else None
        scratch = np.empty((len(counts), _N), _U32)
        for j in range(n_twists + 1):
            if j:
                _twist(cur, nxt)
                cur, nxt = nxt, (cur if j > 1 else np.empty_like(cur))
                done = twists == j
                if j == n_twists:
                    if done.all():
                        new_key = cur
                    else:
                        new_key[done] = cur[done]
                elif done.any():
                    new_key[done] = cur[done]
            s0, s1 = max(j * _N, lo), min((j + 1) * _N, hi)
            if s0 < s1:
                raw = scratch[:, :s1 - s0]
                _temper(cur[:, s0 - j * _N:s1 - j * _N], raw)
                _raw_to_unit(raw, dest[:, s0 - lo:s1 - lo])

        if not aligned:
            for r in range(len(counts)):
                p = int(pos[r]) - lo
                out[offsets[r]:offsets[r] + counts[r]] = dest[r, p:p + counts[r]]
        if self._shared:
            self.key = self.key.copy()
        self.key[rows] = new_key
        self.pos[rows] = end - twists * _N


_bank = _Bank(0)   # a fresh MXNet process is in the state of seed(0)
# Host-side shuffles (data iterators) use their own stream: MXNet shuffles with numpy's global
# generator, so drawing them from the bank would shift every initializer draw that follows.
_shuffler = np.random.Generator(np.random.PCG64(0))


def permutation(n):
    """A random permutation of range(n) from the shuffle stream (reset by ``seed``, not MXNet's bank)."""
    return _shuffler.permutation(n)


def seed(seed_state, ctx="all"):
    """Reset the CPU generator exactly like ``mx.random.seed(seed_state)``.

    ``ctx`` other than "all" or a CPU context leaves the CPU stream alone, as
    MXNet only reseeds the device it is given.
    """
    if not isinstance(seed_state, (int, np.integer)):
        raise ValueError(
            f"seed_state must be an int, got {type(seed_state).__name__} {seed_state!r}. "
            "Pass an integer such as mx.random.seed(42).")
    if ctx != "all" and getattr(ctx, "device_type", "cpu") != "cpu":
        return
    global _shuffler
    # MXNet passes the seed through a C int, so only its low 32 bits matter.
    _bank.seed(int(seed_state) % 2**32)
    _shuffler = np.random.Generator(np.random.PCG64(int(seed_state) % 2**32))


def numpy_generator():
    """A numpy ``Generator`` keyed by the next four uniforms of the bank.

    Distributions MXNet samples by rejection (gamma, poisson, ...) cannot be
    replayed bit for bit cheaply; keying a fresh generator from the bank keeps
    them reproducible under ``seed`` and advances the bank between draws.
    """
    u = _bank.draw_unit(np.array([4], np.int64))
    words = (u.astype(np.float64) * 2.0 ** 32).astype(np.uint64)
    return np.random.Generator(np.random.PCG64([int(w) for w in words]))


def get_state():
    """A picklable snapshot of the whole generator, for checkpoints."""
    key, pos = _bank.snapshot()
    return {"version": 1, "key": key, "pos": pos, "shuffle": _shuffler.bit_generator.state}


def set_state(state):
    """Restore a snapshot taken by ``get_state``; the stream then continues from there."""
    try:
        key = np.array(state["key"], dtype=_U32)
        pos = np.array(state["pos"], dtype=np.int64)
        ok = (state.get("version") == 1 and key.shape == (_NUM_STATES, _N)
              and pos.shape == (_NUM_STATES,) and pos.min() >= 0 and pos.max() <= _N)
    except (TypeError, KeyError, ValueError, AttributeError):
        ok = False
    if not ok:
        raise ValueError(
            "set_state() needs the dict returned by trainkit.random.get_state() "
            f"(version 1, a {_NUM_STATES}x{_N} uint32 'key' and {_NUM_STATES} positions in "
            f"[0, {_N}]); got {type(state).__name__}. Pass an unmodified snapshot.")
    _bank.key, _bank.pos = key, pos
    if "shuffle" in state:
        _shuffler.bit_generator.state = state["shuffle"]


def _check_request(shape, dtype, name):
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    if dtype.type not in _SUPPORTED_FLOATS:
        raise TypeError(
            f"random.{name} cannot produce dtype {dtype}; MXNet's {name} sampler supports "
            "float32, float64 and float16. Draw float32 and cast if you need another type.")
    if any(s < 0 for s in shape):
        raise ValueError(f"random.{name}: shape {shape} has a negative dimension.")
    return shape, dtype


def _finish(values, shape, dtype):
    # No fixtures cover MXNet's float64/float16 samplers. libstdc++ would build
    # each double uniform from two raw words, so MXNet's streams there probably
    # differ; we sample float32 (one word per uniform) and cast.
    return values.reshape(shape).astype(dtype, copy=False)


def uniform(low=0.0, high=1.0, shape=(1,), dtype=np.float32):
    """Samples of U[low, high) from MXNet's CPU stream (``nd.random.uniform``)."""
    shape, dtype = _check_request(shape, dtype, "uniform")
    if low > high:
        raise ValueError(
            f"random.uniform needs low <= high, got low={low}, high={high}. Swap the bounds.")
    counts = _chunk_counts(math.prod(shape))
    u = _bank.draw_unit(counts)
    low32, high32 = np.float32(low), np.float32(high)
    if (low32, high32) != (0, 1):
        # MXNet computes lower + (upper - lower) * u, all in float32.
        u *= high32 - low32
        u += low32
    return _finish(u, shape, dtype)


# glibc's logf (the ARM optimized-routines one used since glibc 2.28), which
# MXNet's std::log(float) calls. It is not correctly rounded: even a correctly
# rounded log differs from it on about 0.7% of r2 values (np.log's float32
# loop on far more), giving 1-2 ulp errors after the polar step. So its
# table-plus-polynomial is replayed in float64. Checked against glibc 2.36 for
# every float32 in [2**-48, 1], the range r2 can take (FMA or not, the float
# result is the same).
_LOGF_INVC = np.array([float.fromhex(h) for h in (
    "0x1.661ec79f8f3bep+0", "0x1.571ed4aaf883dp+0", "0x1.49539f0f010bp+0",
    "0x1.3c995b0b80385p+0", "0x1.30d190c8864a5p+0", "0x1.25e227b0b8eap+0",
    "0x1.1bb4a4a1a343fp+0", "0x1.12358f08ae5bap+0", "0x1.0953f419900a7p+0",
    "0x1p+0", "0x1.e608cfd9a47acp-1", "0x1.ca4b31f026aap-1",
    "0x1.b2036576afce6p-1", "0x1.9c2d163a1aa2dp-1", "0x1.886e6037841edp-1",
    "0x1.767dcf5534862p-1")])
_LOGF_LOGC = np.array([float.fromhex(h) for h in (
    "-0x1.57bf7808caadep-2", "-0x1.2bef0a7c06ddbp-2", "-0x1.01eae7f513a67p-2",
    "-0x1.b31d8a68224e9p-3", "-0x1.6574f0ac07758p-3", "-0x1.1aa2bc79c81p-3",
    "-0x1.a4e76ce8c0e5ep-4", "-0x1.1973c5a611cccp-4", "-0x1.252f438e10c1ep-5",
    "0x0p+0", "0x1.aa5aa5df25984p-5", "0x1.c5e53aa362eb4p-4",
    "0x1.526e57720db08p-3", "0x1.bc2860d22477p-3", "0x1.1058bc8a07ee1p-2",
    "0x1.4043057b6ee09p-2")])
_LOGF_POLY = [float.fromhex(h) for h in (
    "-0x1.00ea348b88334p-2", "0x1.5575b0be00b6ap-2", "-0x1.ffffef20a4123p-2")]
_LOGF_OFF = _U32(0x3f330000)
# glibc adds logc[i] + k*ln2; (bits - OFF) >> 19 is exactly 16*k + i, so both
# terms come from one table indexed by it (offset by 4096 to be non-negative).
_j = np.arange(-4096, 4096)
_LOGF_Y0 = _LOGF_LOGC[_j & 15] + (_j >> 4) * float.fromhex("0x1.62e42fefa39efp-1")
del _j


def _glibc_logf(x):
    """logf of positive normal float32 values, bit-identical to glibc >= 2.28."""
    ix = x.view(_U32)
    tmp = ix - _LOGF_OFF
    idx = (tmp.view(np.int32) >> 19).astype(np.intp)   # 16*k + i; intp makes take() fast
    idx += 4096
    iz = tmp & _U32(0xFF800000)
    np.subtract(ix, iz, out=iz)                          # x scaled into [OFF, 2*OFF)
    z = iz.view(np.float32).astype(np.float64)
    r = _LOGF_INVC.take(idx & 15)
    r *= z
    r -= 1.0                                             # r = z/c - 1
    r2 = r * r
    y = _LOGF_POLY[1] * r
    y += _LOGF_POLY[2]
    z = _LOGF_POLY[0] * r2
    y += z
    y *= r2
    r += _LOGF_Y0.take(idx)
    y += r
    return y.astype(np.float32)


_MATH_BLOCK = 1 << 15   # pairs handled at once, so temporaries stay in cache


def _polar(u, mean, std):
    """One polar step per pair of uniforms: (accepted mask, values of accepted pairs)."""
    npairs = len(u) // 2
    ok = np.empty(npairs, bool)
    vals = np.empty(npairs, np.float32)
    n = 0
    for s in range(0, npairs, _MATH_BLOCK):
        # 2u - 1 is exact in double, so one float32 rounding matches C++'s
        # float(2.0f*u - 1.0).
        v = u[2 * s:2 * (s + _MATH_BLOCK)] * np.float32(2)
        v -= np.float32(1)
        sq = v * v
        r2 = sq[0::2] + sq[1::2]
        good = ok[s:s + _MATH_BLOCK]
        np.less_equal(r2, np.float32(1), out=good)
        good &= r2 != np.float32(0)
        keep = np.flatnonzero(good)          # one index, two takes: faster than two masks
        y, r2 = v[1::2].take(keep), r2.take(keep)
        # libstdc++: y * sqrt(-2 * log(r2) / r2), each step rounded to float.
        m = _glibc_logf(r2)
        m *= np.float32(-2)
        m /= r2
        np.sqrt(m, out=m)
        m *= y
        m *= std
        m += mean
        vals[n:n + len(m)] = m
        n += len(m)
    return ok, vals[:n]


# Below this many accepted samples per state, scattering with one fancy index
# is cheaper than a Python loop of slice copies.
_LOOP_SCATTER_MIN = 256


def normal(loc=0.0, scale=1.0, shape=(1,), dtype=np.float32):
    """Samples of N(loc, scale**2) from MXNet's CPU stream (``nd.random.normal``).

    Each sample is one Marsaglia polar step of libstdc++'s
    ``std::normal_distribution<float>``; MXNet builds a fresh distribution per
    sample, so the second value of each accepted pair is thrown away.
    Rejected pairs consume raw values, so a state's draws for its chunk are
    produced in rounds: each round draws exactly as many pairs as samples are
    still missing, which can never overshoot what MXNet would consume.
    """
    shape, dtype = _check_request(shape, dtype, "normal")
    if scale < 0:
        raise ValueError(f"random.normal needs scale >= 0, got {scale}.")
    n = math.prod(shape)
    counts = _chunk_counts(n)
    out = np.empty(n, np.float32)
    starts = np.zeros(len(counts), np.int64)
    np.cumsum(counts[:-1], out=starts[1:])       # where each state's samples begin
    missing = counts.copy()
    mean32, std32 = np.float32(loc), np.float32(scale)

    while missing.any():
        ok, vals = _polar(_bank.draw_unit(2 * missing), mean32, std32)
        active = np.flatnonzero(missing)
        bounds = np.zeros(len(active) + 1, np.int64)
        np.cumsum(missing[active], out=bounds[1:])          # each state's pairs in ok
        accepted = np.array([np.count_nonzero(ok[a:b]) for a, b in
                             zip(bounds[:-1].tolist(), bounds[1:].tolist())], np.int64)

        dest = starts[active] + (counts[active] - missing[active])
        if len(vals) >= _LOOP_SCATTER_MIN * len(active):
            src = 0
            for d, a in zip(dest.tolist(), accepted.tolist()):
                out[d:d + a] = vals[src:src + a]
                src += a
        else:
            src_first = np.zeros(len(active), np.int64)
            np.cumsum(accepted[:-1], out=src_first[1:])
            idx = np.repeat(dest - src_first, accepted) + np.arange(len(vals))
            out[idx] = vals
        missing[active] -= accepted
    return _finish(out, shape, dtype)
