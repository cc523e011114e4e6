"""``Updater``: one state per weight index, saved and restored as MXNet's ``.states`` pickles."""
import operator
import pickle

from .optimizer import Optimizer, _as_list
from ..ndarray.ndarray import NDArray

_dtype_of = operator.attrgetter("_data.dtype")


# ----- Updater ----------------------------------------------------------------------------------
class Updater:
    """Holds one state per weight index and applies the optimizer: ``updater(index, grad, weight)``.

    ``index``, ``grad`` and ``weight`` may also be equal-length lists. ``get_states()`` pickles
    the dict of states, as MXNet writes ``.states`` files (the arrays inside are trainkit
    NDArrays, so the files do not move between trainkit and MXNet). ``get_states(dump_optimizer=True)``
    also pickles the optimizer, whose update counts and scheduler position are needed to continue
    a run exactly: Adam's bias correction and every lr schedule depend on them.
    """

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"Updater needs an mx.optimizer.Optimizer, got {type(optimizer).__name__}. "
                            "Create one with mx.optimizer.create('sgd', ...).")
        self.optimizer = optimizer
        self.states = {}
        self.states_synced = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight):
        if type(index) is list and type(grad) is list and type(weight) is list:  # Module's and Gluon's calls
            indices, grads, weights = index, grad, weight  # read, never changed (a bytes index copies first)
        elif not isinstance(index, (list, tuple)):
            indices, grads, weights = [index], [grad], [weight]
        else:
            indices, grads, weights = list(index), _as_list(grad), _as_list(weight)
        if not len(indices) == len(grads) == len(weights):
            raise ValueError(f"Updater got {len(indices)} indices, {len(grads)} gradients and "
                             f"{len(weights)} weights; pass one gradient and one weight per index.")
        if not weights:
            return
        states, optimizer = self.states, self.optimizer
        # one chunk's update checks all its pairs before it changes any; one weight or one chunk at a time, they
        # are checked here first (and on a first update, or after states were restored)
        if not self.aggregate_updates or len(indices) > optimizer.aggregate_num or \
                not all(map(self.states_synced.get, indices)):
            indices = self._prepare(index, indices, grads, weights)
        try:
            optimizer._set_current_context(weights[0]._ctx.device_id)
            dtypes = set(map(_dtype_of, weights)) if self.aggregate_updates else None
        except AttributeError:  # not an NDArray: _prepare says which
            self._prepare(index, indices, grads, weights)
            raise
        if not self.aggregate_updates:
            for i, w, g in zip(indices, weights, grads):
                optimizer.update_multi_precision(i, w, g, states[i])
            return
        step = optimizer.aggregate_num
        if len(dtypes) == 1 and len(indices) <= step:  # one chunk (a small network): no regrouping
            optimizer.update_multi_precision(indices, weights, grads, [states[i] for i in indices])
            return
        # as MXNet: group by dtype, then hand the optimizer chunks of aggregate_num weights
        by_dtype = {}
        for i, w, g in zip(indices, weights, grads):
            by_dtype.setdefault(w._data.dtype, []).append((i, w, g))
        for group in by_dtype.values():
            for start in range(0, len(group), step):
                chunk = group[start:start + step]
                optimizer.update_multi_precision([c[0] for c in chunk], [c[1] for c in chunk],
                                                 [c[2] for c in chunk], [states[c[0]] for c in chunk])

    def _prepare(self, index, indices, grads, weights):
        """Check each pair, create the states of new indices and sync restored ones; returns the indices (a
        bytes index decoded, in a copy of the caller's list)."""
        states, synced = self.states, self.states_synced
        for i, (idx, w, g) in enumerate(zip(indices, weights, grads)):
            if not isinstance(w, NDArray) or not isinstance(g, NDArray):
                bad = w if not isinstance(w, NDArray) else g
                raise TypeError(f"Updater expects NDArrays for grad and weight, got {type(bad).__name__}. "
                                "Call it as updater(index, grad, weight) with mx.nd arrays.")
            if isinstance(idx, bytes):
                if indices is index:
                    indices = list(index)
                idx = indices[i] = idx.decode()
            if idx not in states:
                states[idx] = self.optimizer.create_state_multi_precision(idx, w)
                synced[idx] = True
            elif not synced.get(idx, False):
                states[idx] = self.sync_state_context(states[idx], w.context)
                synced[idx] = True
        return indices

    def sync_state_context(self, state, context):
        """Move a state (an NDArray, or a tuple/list of them) to ``context``."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            return tuple(synced) if isinstance(state, tuple) else synced
        return state

    def set_states(self, states):
        """Restore what ``get_states`` returned (bytes of a pickled dict, or of (dict, optimizer))."""
        if not isinstance(states, (bytes, bytearray)):
            raise TypeError(f"set_states expects the bytes returned by get_states() (or read from a "
                            f".states file), got {type(states).__name__}.")
        loaded = pickle.loads(states)
        if isinstance(loaded, tuple) and len(loaded) == 2:
            loaded, optimizer = loaded
            if not isinstance(optimizer, Optimizer):
                raise ValueError("set_states: the pickled pair does not hold an Optimizer; pass bytes "
                                 "from Updater.get_states().")
            self.optimizer = optimizer
            self.aggregate_updates = optimizer.aggregate_num > 0
        if not isinstance(loaded, dict):
            raise ValueError(f"set_states: expected pickled optimizer states (a dict of index to state), "
                             f"found {type(loaded).__name__}. Pass bytes from Updater.get_states().")
        self.states = loaded
        self.states_synced = dict.fromkeys(self.states.keys(), False)

    def get_states(self, dump_optimizer=False):
        """Pickled states; with ``dump_optimizer`` the optimizer (counts, scheduler) is included."""
        return pickle.dumps((self.states, self.optimizer) if dump_optimizer else self.states)


def get_updater(optimizer):
    """An ``Updater`` for ``optimizer``: call it as ``updater(index, grad, weight)``."""
    return Updater(optimizer)
