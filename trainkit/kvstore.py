"""``mx.kv`` / ``mx.kvstore``: MXNet 1.9.1's key-value store for one machine.

``create('local')`` (also 'device', 'nccl' and the ``local_*`` variants, which behave the
same here: trainkit runs on one process) holds one array per key. ``push`` sums the values
pushed for a key (one per device in MXNet) and then either stores the sum or, after
``set_optimizer``, applies the optimizer's update to the stored weight, as MXNet's local
store does; ``pull`` copies the stored array into ``out``. The ``dist_*`` types need a
cluster and raise an error saying so.
"""
import pickle

from .base import MXNetError
from .ndarray.ndarray import NDArray

__all__ = ["KVStore", "create"]

_LOCAL_TYPES = ("local", "device", "nccl", "local_update_cpu", "local_allreduce_cpu", "local_allreduce_device")


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _key_value_pairs(key, value, what):
    """[(key, [arrays])] from one key with an array (or a list of per-device arrays), or lists of both."""
    if isinstance(key, (list, tuple)):
        values = _as_list(value)
        if len(values) != len(key):
            raise ValueError(f"KVStore.{what}: {len(key)} keys but {len(values)} values; pass one value "
                             "(or one list of per-device values) per key.")
        return [(k, _as_list(v)) for k, v in zip(key, values)]
    return [(key, _as_list(value))]


class KVStore:
    """A single-process key-value store (use ``mx.kv.create``)."""

    def __init__(self, kvtype="local"):
        self._type = kvtype
        self._store = {}
        self._key_type = None
        self._updater = None
        self._compression = None

    # ----- identity -------------------------------------------------------------------------
    @property
    def type(self):
        """The type string given to ``create``."""
        return self._type

    @property
    def rank(self):
        """This worker's rank: always 0 on one machine."""
        return 0

    @property
    def num_workers(self):
        """The number of workers: always 1 on one machine."""
        return 1

    def is_capable(self, capability):
        """True for 'optimizer' (the store can run updates); ValueError for unknown capabilities."""
        if capability.lower() != "optimizer":
            raise ValueError(f"Unknown capability {capability!r}; the KVStore knows 'optimizer'.")
        return True

    def barrier(self):
        """Wait for all workers: nothing to wait for with one."""

    _barrier = barrier

    # ----- keys -----------------------------------------------------------------------------
    def _check_key(self, key, initialising=False):
        kind = "str" if isinstance(key, str) else "int"
        if kind == "int" and not isinstance(key, int):
            raise TypeError(f"KVStore keys are ints or strs, got {type(key).__name__} {key!r}.")
        if self._key_type is None:
            self._key_type = kind
        elif self._key_type != kind:
            raise MXNetError(f"Mixed key types are not allowed: this KVStore uses {self._key_type} keys, got "
                             f"{key!r}. Use one key type for all parameters.")
        if initialising and key in self._store:
            raise MXNetError(f"duplicate init of key {key}. Please double check if you called kv.init or "
                             "kv.broadcast with this key multiple times")
        if not initialising and key not in self._store:
            raise MXNetError(f"key {key} has not been inited. Call kv.init({key!r}, value) first.")

    def init(self, key, value):
        """Store a copy of ``value`` under ``key`` (or of each value under each key of a list)."""
        for k, values in _key_value_pairs(key, value, "init"):
            self._check_key(k, initialising=True)
            self._store[k] = values[0].copy()

    def push(self, key, value, priority=0):
        """Push values: several values for one key are summed; then the stored array becomes the
        sum, or, with an optimizer set, the optimizer updates it with the sum as gradient."""
        for k, values in _key_value_pairs(key, value, "push"):
            self._check_key(k)
            stored = self._store[k]
            merged = values[0].copy() if len(values) == 1 else _summed(values)
            if merged.shape != stored.shape:
                raise MXNetError(f"KVStore.push: key {k!r} holds shape {stored.shape} but got {merged.shape}.")
            if self._updater is not None:
                self._updater(k, merged, stored)
            else:
                stored[:] = merged.astype(stored.dtype) if merged.dtype != stored.dtype else merged

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Copy the stored value of ``key`` into ``out`` (an NDArray or a list, one per device)."""
        if out is None:
            raise ValueError("KVStore.pull needs out=: the NDArray (or list of NDArrays) to copy into.")
        for k, outs in _key_value_pairs(key, out, "pull"):
            self._check_key(k)
            for o in outs:
                if not isinstance(o, NDArray):
                    raise TypeError(f"KVStore.pull: out must hold NDArrays, got {type(o).__name__}.")
                o[:] = self._store[k]

    def pushpull(self, key, value, out=None, priority=0):
        """``push`` then ``pull`` (into ``value`` itself when ``out`` is None)."""
        self.push(key, value, priority)
        self.pull(key, value if out is None else out, priority)

    def broadcast(self, key, value, out, priority=0):
        """``init`` the key with ``value`` and ``pull`` it into ``out``."""
        self.init(key, value)
        self.pull(key, out=out, priority=priority)

    def row_sparse_pull(self, key, out=None, priority=0, row_ids=None):
        raise MXNetError("row_sparse_pull needs row_sparse arrays, which trainkit does not have (dense storage "
                         "only). Use pull.")

    # ----- updates --------------------------------------------------------------------------
    def set_optimizer(self, optimizer):
        """Apply ``optimizer`` on every push (MXNet's update-on-kvstore)."""
        from .optimizer import get_updater
        self._set_updater(get_updater(optimizer))

    def _set_updater(self, updater):
        """Call ``updater(key, merged_gradient, stored_weight)`` on every push."""
        if not callable(updater):
            raise TypeError(f"_set_updater needs a function updater(key, grad, weight), got {type(updater).__name__}.")
        self._updater = updater

    def set_gradient_compression(self, compression_params):
        """Gradient compression speeds up communication between machines; there is none here."""
        if "device" not in self._type and "nccl" not in self._type:
            raise MXNetError("Gradient compression is not supported for this type of kvstore")
        raise MXNetError("Gradient compression is not implemented in trainkit: it compresses traffic between "
                         "devices and machines, and trainkit keeps every array in one process. Remove the "
                         "set_gradient_compression call.")

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Write the updater's states (and the optimizer with ``dump_optimizer``) to ``fname``."""
        if self._updater is None:
            raise MXNetError("Cannot save states for distributed training")  # MXNet's message for no updater
        with open(fname, "wb") as fout:
            fout.write(self._updater.get_states(dump_optimizer))

    def load_optimizer_states(self, fname):
        """Read states written by ``save_optimizer_states``."""
        if self._updater is None:
            raise MXNetError("Cannot load states for distributed training")
        with open(fname, "rb") as f:
            self._updater.set_states(f.read())

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_updater"] = None if self._updater is None else pickle.dumps(self._updater)
        return state

    def __setstate__(self, state):
        updater = state.get("_updater")
        self.__dict__ = state
        self._updater = pickle.loads(updater) if updater is not None else None


def _summed(values):
    total = values[0].copy()
    for v in values[1:]:
        if v.shape != total.shape:
            raise MXNetError(f"KVStore.push: the values pushed for one key differ in shape ({total.shape} vs "
                             f"{v.shape}); push one array per device, all of the key's shape.")
        total += v
    return total


def create(name="local"):
    """A KVStore: 'local' (default), 'device', 'nccl' or a ``local_*`` variant; ``dist_*`` raise."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}.")
    if name.startswith("dist") or name == "horovod" or name == "byteps":
        raise MXNetError(f"KVStore type {name!r} trains across machines (a parameter server or an allreduce "
                         "cluster); trainkit runs on one machine. Use mx.kv.create('local') or 'device'.")
    if name not in _LOCAL_TYPES:
        raise ValueError(f"Unknown KVStore type {name!r}. Use one of: {', '.join(_LOCAL_TYPES)}.")
    return KVStore(name)
