"""The compiled path for bound graphs (MXNet's ``static_alloc``/``static_shape``).

A bound graph (a Module, an Executor, a hybridized Gluon block) runs the same graph on
arrays of the same shapes batch after batch, so the work of the imperative path (an NDArray
and an autograd node per operator, a topological sort per backward) can be done once. A
``Program`` is that work done: the primitives the graph calls, in order, with their
attributes and the value slot each reads and writes, found by tracing one imperative run
(``trace``) and kept per input shapes, dtypes and training flag. The Trainer's step (the
network's forward and a built-in loss) is traced the same way (``TracedStep``).

- the forward calls each primitive's numpy forward on plain arrays, nothing recorded;
- under ``autograd.record()`` the whole graph is one autograd node, whose gradient runs
  the primitives' vjps in reverse (``raw_vjp`` on plain arrays where the primitive has
  one, its NDArray vjp otherwise) and hands the inputs' gradients back to autograd; when
  that node is the whole recorded graph (the Trainer's step), ``backward`` skips autograd's
  walk and writes the variables' gradients itself;
- the values are the imperative path's, bit for bit: the same forwards with the same
  attributes, the same vjps, the same order of accumulation, Dropout's masks drawn from
  the same stream at the same point.

A graph stays imperative when an operator might do more than its primitives show
(operators outside ``TRACEABLE``: BatchNorm updates its moving statistics in place), when
the trace meets a value it cannot explain (a random draw other than a declared one, see
``redrawn``), or off the CPU. Differentiating a gradient again (``create_graph=True``)
replays the program as recorded NDArray operations. ``TRAINKIT_COMPILE=0`` turns the
compiled path off, for comparisons.
"""
import os

from . import autograd, compiled_code
from .base import MXNetError
from .ndarray import ndarray as _nd  # circular: only its attributes are used, at call time
from .ops.core import Primitive

ENABLED = os.environ.get("TRAINKIT_COMPILE", "1") != "0"

# Symbol operators that compute exactly the primitives a trace records: no side effects,
# no Python decision on values, randomness only through a declared redrawn input. (Operators
# without a gradient, BlockGrad or one_hot, give values autograd does not record: not here.)
TRACEABLE = frozenset("""
    Activation Concat concat Dropout Flatten flatten FullyConnected LeakyReLU Reshape reshape
    SoftmaxOutput Softmax softmax log_softmax LinearRegressionOutput LogisticRegressionOutput MAERegressionOutput
    MakeLoss make_loss _copy identity Embedding LayerNorm
    relu sigmoid tanh softrelu softsign exp log sqrt square abs negative
    elemwise_add elemwise_sub elemwise_mul elemwise_div _plus _minus _mul _div _Plus _Minus _Mul _Div
    broadcast_add broadcast_sub broadcast_mul broadcast_div broadcast_plus broadcast_minus
    _plus_scalar _minus_scalar _rminus_scalar _mul_scalar _div_scalar _rdiv_scalar _power _power_scalar
    _rpower_scalar _maximum_scalar _minimum_scalar add_n ElementWiseSum
    dot batch_dot sum mean max min transpose expand_dims pick softmax_cross_entropy
    slice_axis clip Cast cast
""".split())

_REDRAWN = {}


def redrawn(prim, index, make):
    """Declare that input ``index`` of ``prim`` is a random value its operator draws on every call, as
    ``make(like, attrs)`` (``like``: the traced value, for its shape and dtype); the program draws it at
    the same point of the stream."""
    _REDRAWN[prim.name] = (index, make)


def traceable(plan):
    """Whether every layer of the plan is one the compiled path reproduces exactly."""
    for node in plan.step_nodes:
        if node.prim is not None:  # a replayed recorded primitive: one call, its inputs in slots
            if node.prim.forward is None or node.prim.name in _REDRAWN:
                return False
        elif node.op not in TRACEABLE:
            return False
    return True


def program_of(node):
    """The Program behind a recorded autograd node, or None for any other node."""
    vjp = node.prim.vjp
    return vjp.program if isinstance(vjp, _GraphVjp) else None


def key(feed, training):
    """What a program depends on besides the graph: each input's shape and dtype, and the training flag."""
    k = [training]
    for a in feed:  # a loop, not a generator: this runs on every call of a bound graph
        data = a._data
        k.append(data.shape)
        k.append(data.dtype)
    return tuple(k)


def trace(plan, feed):
    """Run ``plan`` imperatively on ``feed`` once, recording every primitive against stand-ins of the
    inputs: returns ``(program, outputs)``, or ``(None, None)`` (with the random stream as before the run)
    when the run did something a program cannot repeat."""
    from . import random_streams
    state = random_streams.get_state()
    stand_ins = [_stand_in(a) for a in feed]
    with autograd._Saved(recording=True):
        heads = plan.run_imperative(stand_ins)
    program, vals = _build(stand_ins, heads, feed[0]._ctx)
    if program is None:
        random_streams.set_state(state)
        return None, None
    vals[:len(feed)] = [a._data for a in feed]
    return program, program.wrap(feed, vals)


class _Tracing:
    """A function trace in progress (``TracedStep``): plans run imperatively, so their primitives are
    recorded one by one, and count themselves; one that is not traceable spoils the trace."""

    active = False
    plans = 0
    ok = True


TRACING = _Tracing()


class TracedStep:
    """``step(x, y) -> (loss, outputs)`` compiled per input shapes, dtypes and training flag: a training
    step's forward and loss (the Trainer's) as one program, its parameters read as captured inputs, the
    loss the one autograd output (``outputs`` come back as plain values, for the metrics).

    Only for functions that run exactly one traceable plan and otherwise nothing but primitives whose
    results do not depend on Python decisions about values (a built-in loss); ``step`` runs as it is
    whenever that does not hold.
    """

    def __init__(self, step, ready):
        self.step = step
        self.ready = ready  # () -> whether the network now runs one traceable graph (checked before a trace)
        self.programs = {}

    def __call__(self, x, y):
        feed = [x, y]
        if not ENABLED or x._ctx.device_type != "cpu":
            return self.step(x, y)
        k = key(feed, autograd._mode.training)
        program = self.programs.get(k, _MISSING)
        if program is None:
            return self.step(x, y)
        if program is _MISSING:
            # a trace runs the step once for real: never one with side effects it could not repeat
            # (BatchNorm), nor a block's first, imperative call (it builds the block's graph)
            if not self.ready():
                return self.step(x, y)
            program, result = self._trace(feed)
            self.programs[k] = program
            return result if program is not None else self.step(x, y)
        feed += program.captured
        return tuple(program.wrap(feed, program.forward([a._data for a in feed])))

    def forward_backward(self, x, y):
        """What ``with autograd.record(): loss, out = self(x, y)`` and then ``loss.backward()`` leave, run as the
        program's forward and backward with autograd untouched (Module's ``Step``: the same values, gradients
        written per grad_req, ``loss`` not recorded); None while there is no program for (x, y) (the first
        call traces one through the recorded path) or none can be."""
        if not ENABLED or x._ctx.device_type != "cpu":
            return None
        program = self.programs.get(key([x, y], True))  # record() trains
        if program is None:
            return None
        return program.forward_backward([x, y, *program.captured])

    def _trace(self, feed):
        from . import random_streams
        state = random_streams.get_state()
        stand_ins = [_stand_in(a) for a in feed]
        TRACING.active, TRACING.plans, TRACING.ok = True, 0, True
        try:
            with autograd._Saved(recording=True):
                loss, out = self.step(*stand_ins)
        finally:
            TRACING.active = False
        program = vals = None
        if TRACING.ok and TRACING.plans == 1:
            program, vals = _build(stand_ins, [loss, out], feed[0]._ctx, capture=True, differentiable=1)
        if program is None:
            random_streams.set_state(state)
            return None, None
        full = feed + program.captured
        vals[:len(full)] = [a._data for a in full]
        return program, tuple(program.wrap(full, vals))


_MISSING = object()


def _stand_in(a):
    s = _nd.NDArray(a._data, a._ctx)
    s._node = autograd.Variable(None, "write")
    return s


def _build(stand_ins, heads, ctx, capture=False, differentiable=None):
    """The Program of the recorded graph from ``stand_ins`` to ``heads``, and the traced run's slot values;
    ``(None, None)`` when the graph holds a value the program could not reproduce."""
    slot_of = {id(s._node): i for i, s in enumerate(stand_ins)}
    vals = [s._data for s in stand_ins]
    steps = []
    order, _ = autograd._toposort(heads)
    captured = []
    if capture:  # marked arrays the function read besides its arguments become inputs after them
        for node in order:
            for x in node.inputs:
                if type(x._node) is autograd.Variable and id(x._node) not in slot_of:
                    slot_of[id(x._node)] = len(vals)
                    vals.append(x._data)
                    captured.append(x)
    nfeed = len(vals)

    def slot(x):
        node = x._node
        if type(node) is autograd.OpNode:
            return slot_of.get((id(node), x._oidx))
        return slot_of.get(id(node)) if node is not None else None

    for node in order:
        prim = node.prim
        ins = []
        for j, x in enumerate(node.inputs):
            s = slot(x)
            if s is None:
                drawn = _REDRAWN.get(prim.name)
                if x._node is not None or drawn is None or drawn[0] != j:
                    return None, None  # a constant the program could not reproduce
                s = len(vals)
                steps.append((None, (), s, {"like": x._data, "attrs": node.attrs, "make": drawn[1]}))
                vals.append(x._data)
            ins.append(s)
        first = len(vals)
        outs = (node.out,) if prim.n_out == 1 else node.out
        for i, o in enumerate(outs):
            slot_of[(id(node), i)] = first + i
            vals.append(o)
        steps.append((prim, tuple(ins), first, node.attrs))
    head_slots = []
    for h in heads:
        s = slot(h)
        if s is None:
            return None, None
        head_slots.append(s)
    program = Program(nfeed, steps, head_slots, ctx, differentiable)
    program.captured = captured
    program.specs = [(v.shape, v.dtype) for v in vals]  # what inline templates may rely on (compiled_code.Site)
    vals += [None] * (program.nslots - len(vals))  # the traced run saved nothing for the gradients
    return program, vals


class Program:
    """One traced graph: ``steps`` are ``(primitive, input slots, first output slot, attrs)``; a step whose
    primitive is None draws a redrawn input (``attrs['make']``)."""

    def __init__(self, nfeed, steps, heads, ctx, differentiable=None):
        self.nfeed = nfeed
        self.steps = steps
        self.heads = heads
        self.ctx = ctx
        self.nslots = nfeed + sum(1 if p is None else p.n_out for p, _, _, _ in steps)
        # a step whose primitive saves a value for its gradient (forward_saving) keeps it in a slot after all others
        self.saved = {}
        for k, (prim, _, _, _) in enumerate(steps):
            if prim is not None and prim.forward_saving is not None:
                self.saved[k] = self.nslots
                self.nslots += 1
        self._plans = {}
        self._ones = {}
        self._head_ones = None
        self.head_ids = frozenset()  # the ids of _head_ones
        # the first `differentiable` heads are the autograd node's outputs; the rest come out as plain values
        self.differentiable = len(heads) if differentiable is None else differentiable
        vjp = _GraphVjp(self)
        self.prim = Primitive("_compiled_graph", None, vjp, n_out=self.differentiable, raw_vjp=vjp.raw)
        self.prim.uses_out = False
        self.captured = []  # arrays a traced function read that were not its arguments (a model's parameters)
        self.specs = None   # each traced slot's (shape, dtype); the key fixes them for every later call

    def forward(self, raw):
        """Every slot's value for the inputs ``raw`` (a list of backend arrays, one per variable slot). The
        first call generates the straight-line forward (compiled_code), which then stands in for this method."""
        self.forward = compiled_code.forward_function(self)
        return self.forward(raw)

    def run(self, feed):
        """The heads for ``feed`` (NDArrays), as one autograd node when autograd is recording."""
        return self.wrap(feed, self.forward([a._data for a in feed]))

    def wrap(self, feed, vals):
        ctx, NDArray = self.ctx, _nd.NDArray
        heads = [vals[h] for h in self.heads]
        k = self.differentiable
        if autograd._mode.recording and k:
            linked, inputs = [], []
            for i, a in enumerate(feed):
                if a._node is not None:
                    linked.append(i)
                    inputs.append(a)
            if linked:
                node = autograd.OpNode(self.prim, tuple(inputs), {"linked": tuple(linked), "vals": vals},
                                       heads[0] if k == 1 else tuple(heads[:k]))
                if k == 1 == len(heads):
                    return [NDArray(heads[0], ctx, node)]
                return [NDArray(h, ctx, node, i) for i, h in enumerate(heads[:k])] + \
                    [NDArray(h, ctx) for h in heads[k:]]
        return [NDArray(h, ctx) for h in heads]

    def ones_like(self, data):
        """Ones shaped like ``data``, one read-only array per shape and dtype: the default head gradient (no
        vjp writes into its ``g``; were one to, numpy would raise rather than change the next step's)."""
        k = (data.shape, data.dtype)
        ones = self._ones.get(k)
        if ones is None:
            ones = self._ones[k] = self.ctx.xp.ones_like(data)
            ones.flags.writeable = False
        return ones

    def head_ones(self, outputs):
        """The default gradients of the heads ``outputs`` (shapes and dtypes the program's inputs fix): made once."""
        ones = self._head_ones
        if ones is None:
            ones = self._head_ones = [self.ones_like(h._data) for h in outputs]
            self.head_ids = frozenset(id(o) for o in ones)
        return ones

    def start(self, feed):
        """Run the forward for ``feed`` and return the ``Step`` whose ``backward`` finishes it (Module's
        forward/backward pair: no autograd node, gradients straight into the variables' ``.grad``)."""
        return Step(self, feed, self.forward([a._data for a in feed]))

    def forward_backward(self, feed):
        """``start(feed).backward()`` without a Step in between (the Trainer's step): the heads, not recorded."""
        vals = self.forward([a._data for a in feed])
        ctx, NDArray = self.ctx, _nd.NDArray
        outputs = [NDArray(vals[h], ctx) for h in self.heads]
        self.write_gradients(feed, vals, self.head_ones(outputs), set(self.head_ids))
        return outputs

    def write_gradients(self, feed, vals, head_grads, taken):
        """The backward of the forward of ``feed`` that gave ``vals``: each input variable's gradient written per
        its grad_req (``.grad`` takes the fresh buffer unless its id is ``taken``, as autograd does)."""
        linked, variables, Variable = [], [], autograd.Variable
        for i, a in enumerate(feed):
            node = a._node
            if type(node) is Variable and node.grad_req != "null":
                linked.append(i)
                variables.append(node)
        if not variables:
            raise MXNetError("There are no inputs in computation graph that require gradients. (Every variable "
                             "reachable from the heads has grad_req='null', or none is reachable.)")
        linked = tuple(linked)
        grads = self.backward(vals, head_grads, linked, (True,) * len(linked))
        _write_grads(variables, [grads[i] for i in linked], taken)

    def backward(self, vals, head_grads, linked, wanted):
        """The gradient of every slot that gradients of the inputs ``linked`` (``wanted`` says which) pass
        through (backend arrays, None where nothing flows), given the forward's ``vals`` and one gradient
        per head. Its code is generated once per (linked, wanted): in reverse, every step through which a
        gradient can reach one of those inputs, its vjp on plain arrays."""
        k = (linked, wanted)
        plan = self._plans.get(k)
        if plan is None:
            need = [False] * self.nslots
            for i, w in zip(linked, wanted):
                need[i] = w
            for prim, ins, first, _ in self.steps:
                if prim is not None and prim.vjp is not None and any(need[i] for i in ins):
                    need[first:first + prim.n_out] = [True] * prim.n_out
            steps = []
            for j in reversed(range(len(self.steps))):
                prim, ins, first, attrs = self.steps[j]
                if prim is not None and prim.vjp is not None:
                    in_needs = tuple([need[i] for i in ins])
                    if True in in_needs:
                        steps.append((prim, prim.raw_vjp, first, ins, in_needs, attrs, self.saved.get(j)))
            plan = self._plans[k] = compiled_code.backward_function(self, steps, autograd.plain_nd_vjp)
        return plan(vals, head_grads)


class Step:
    """One compiled forward, waiting for its backward: ``outputs`` are the heads (NDArrays, not recorded)."""

    __slots__ = ("program", "feed", "vals", "outputs")

    def __init__(self, program, feed, vals):
        self.program, self.feed, self.vals = program, feed, vals
        ctx = program.ctx
        self.outputs = [_nd.NDArray(vals[h], ctx) for h in program.heads]

    def backward(self, out_grads=None):
        """``autograd.backward(outputs, out_grads)`` for this forward: each input variable's gradient is
        written per its grad_req (``.grad`` takes the fresh buffer, as autograd does)."""
        program = self.program
        if out_grads is None:  # the program's ones, which no variable may adopt
            head_grads = program.head_ones(self.outputs)
            taken = set(program.head_ids)
        else:
            head_grads = _head_grads(self.outputs, out_grads, program)
            taken = {id(g) for g in head_grads}
        program.write_gradients(self.feed, self.vals, head_grads, taken)


def _write_grads(variables, grads, taken):
    """Each variable's gradient (summed where one variable is several inputs) written per its grad_req."""
    if len(set(variables)) < len(variables):
        total = {}
        for var, g in zip(variables, grads):
            if g is not None:
                prev = total.get(var)
                total[var] = g if prev is None else prev + g
        variables, grads = total.keys(), total.values()
    autograd._write_grads(variables, grads, taken)


def _head_grads(outputs, out_grads, program):
    """The head gradients as backend arrays: ``out_grads`` (an NDArray or a list) checked as autograd checks
    them; the program's read-only ones where one is None."""
    NDArray = _nd.NDArray
    given = [out_grads] if isinstance(out_grads, NDArray) else list(out_grads)
    if len(given) != len(outputs):
        raise ValueError(f"heads and head_grads must be lists of the same length ({len(outputs)} heads, "
                         f"{len(given)} head_grads).")
    out = []
    for i, (h, g) in enumerate(zip(outputs, given)):
        if g is None:
            out.append(program.ones_like(h._data))
        elif not isinstance(g, NDArray):
            raise TypeError(f"head gradient {i} must be an NDArray, got {type(g).__name__}.")
        elif g.shape != h.shape:
            raise ValueError(f"head gradient {i} has shape {g.shape} but its head has shape {h.shape}: "
                             "pass a gradient of the same shape as the output.")
        else:
            out.append(g._data)
    return out


class _GraphVjp:
    """The compiled graph's gradient, as autograd calls a vjp: ``(g, out, *inputs, needs, linked, vals)``."""

    wants_needs = True

    def __init__(self, program):
        self.program = program

    def backward_alone(self, node, head_grad, taken):
        """``autograd.backward`` of a graph that is this one node (a traced training step: loss.backward()),
        without autograd's walk: the program's gradients go straight to the variables. False (autograd then
        runs as usual) when an input is not a variable, or none wants a gradient (autograd says so). A
        ``head_grad`` of None stands for ones (the program's read-only array, added to ``taken``)."""
        program = self.program
        if program.differentiable != 1:
            return False
        variables = [x._node for x in node.inputs]
        needs = []
        for var in variables:
            if type(var) is not autograd.Variable:
                return False
            needs.append(var.grad_req != "null")
        if True not in needs:
            return False
        linked, vals = node.attrs["linked"], node.attrs["vals"]
        if head_grad is None:
            head_grad = program.ones_like(node.out)
            taken.add(id(head_grad))
        grads = program.backward(vals, [head_grad], linked, tuple(needs))
        _write_grads(variables, [grads[i] for i in linked], taken)
        return True

    def raw(self, g, out, *inputs, needs, linked, vals):
        """The inputs' gradients as backend arrays (autograd's unrecorded backward)."""
        program = self.program
        heads = list(g) if program.differentiable > 1 else [g]
        grads = program.backward(vals, heads, linked, needs)
        return tuple(grads[i] for i in linked)

    def __call__(self, g, out, *inputs, needs, linked, vals):
        """The NDArray vjp, which autograd calls only under create_graph (otherwise ``raw`` runs): the
        gradient is replayed as recorded operations, so it can be differentiated again."""
        program = self.program
        return _replayed_vjp(program, g if program.differentiable > 1 else (g,), inputs, linked, vals)


def _replayed_vjp(program, heads, inputs, linked, vals):
    """The gradient as recorded NDArray operations (for create_graph): the forward is replayed from the
    inputs with ``apply`` (so the gradient stays linked to them), then the vjps run as autograd's would."""
    apply, zeros_like = _nd.apply, _nd.zeros_like
    ctx = program.ctx
    nd_vals = [_nd.NDArray(v, ctx) if v is not None and i < program.nfeed else None for i, v in enumerate(vals)]
    for i, x in zip(linked, inputs):
        nd_vals[i] = x
    for prim, ins, first, attrs in program.steps:
        if prim is None:
            nd_vals[first] = _nd.NDArray(vals[first], ctx)  # the mask this forward drew
            continue
        outs = apply(prim, *[nd_vals[i] for i in ins], **attrs)
        nd_vals[first:first + prim.n_out] = [outs] if prim.n_out == 1 else list(outs)
    grads = [None] * program.nslots
    for h, gh in zip(program.heads, heads):
        grads[h] = gh if grads[h] is None else grads[h] + gh
    for prim, ins, first, attrs in reversed(program.steps):
        if prim is None or prim.vjp is None:
            continue
        gout = grads[first:first + prim.n_out]
        if all(x is None for x in gout):
            continue
        outs = nd_vals[first:first + prim.n_out]
        if prim.n_out == 1:
            g, out = gout[0], outs[0]
        else:
            g = tuple(zeros_like(o) if x is None else x for x, o in zip(gout, outs))
            out = tuple(outs)
        args = [nd_vals[i] for i in ins]
        if prim.wants_needs:
            results = prim.vjp(g, out, *args, needs=tuple(a._node is not None for a in args), **attrs)
        else:
            results = prim.vjp(g, out, *args, **attrs)
        for s, r in zip(ins, results):
            if r is not None:
                grads[s] = r if grads[s] is None else grads[s] + r
    return tuple(grads[i] for i in linked)
