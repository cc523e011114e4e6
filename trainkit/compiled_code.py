"""A Program's forward and backward as straight-line Python (trainkit.compiled).

A Program's steps never change, so instead of a loop that looks up each step's primitive,
slots and attributes on every call, each direction is generated once as a function with one
line per primitive call: its slots are constants, its attributes keyword arguments bound to
the values traced. The calls, their order and the order of every gradient sum are the loop's,
so the values are the same bit for bit; the generated source is kept as ``fn.source``.
"""
import itertools
import linecache

import numpy as np

from . import blas_threads


class Site:
    """One primitive call of a program as its inline template (``Primitive.inline``/``inline_vjp``) sees it.

    ``ins`` are the source expressions of its inputs, ``shapes`` their traced shapes (fixed for the program:
    its key holds the inputs'), ``attrs`` its attributes. A vjp's template also
    gets ``needs`` (which inputs want a gradient), ``saved`` (the expression of the value the forward saved,
    or None; the value itself is None in the traced run's own backward), ``call`` (the expression of the
    raw_vjp's call) and ``fallback`` (the NDArray vjp's, for a raw_vjp that declines). Templates use the names
    ``np``, ``matmul``, ``dot`` (blas_threads'; ``product`` writes a product with them), ``add_reduce``,
    ``max_reduce``, and ``g``/``o`` (the output's
    gradient and value) in a vjp, and assign ``out`` (and ``saved`` when ``saving``) or ``r0, r1, ...`` (one
    per input that needs a gradient). ``const(value)`` binds a value in the code's namespace, giving its name.
    """

    def __init__(self, program, ins, attrs, env, k, saving=False, needs=None, saved=None, call=None, fallback=None):
        self.ins = [f"v[{s}]" for s in ins]
        self.shapes = [program.specs[s][0] for s in ins]
        self.attrs, self.saving, self.needs, self.saved = attrs, saving, needs, saved
        self.call, self.fallback = call, fallback
        self._env, self._prefix, self._count = env, f"c{k}_", itertools.count()

    def const(self, value):
        name = f"{self._prefix}{next(self._count)}"
        self._env[name] = value
        return name

    @staticmethod
    def product(a, b, work):
        """The expression of the 2-D product ``a @ b`` of ``work`` multiply-adds on the threads blas_threads
        picks: numpy's matmul straight away when that is one thread and already set (blas_threads.dot's own
        fast path, without the call), blas_threads.dot otherwise."""
        return f"(np_matmul if blas.current == 1 and {work} < blas.small else dot)({a}, {b})"


_NAMES = {"np": np, "matmul": blas_threads.matmul, "dot": blas_threads.dot, "add_reduce": np.add.reduce,
          "max_reduce": np.maximum.reduce, "np_matmul": np.matmul, "blas": blas_threads._state}


def forward_function(program):
    """``forward(raw) -> vals``: every slot's value for the inputs ``raw`` (a list of backend arrays)."""
    env, lines = dict(_NAMES), [f"    v = raw + [None] * {program.nslots - program.nfeed}"]
    for k, (prim, ins, first, attrs) in enumerate(program.steps):
        if prim is None:  # a redrawn random input: drawn where the traced run drew it
            env[f"make{k}"], env[f"like{k}"], env[f"at{k}"] = attrs["make"], attrs["like"], attrs["attrs"]
            lines.append(f"    v[{first}] = make{k}(like{k}, at{k})")
            continue
        saved = program.saved.get(k)
        target = f"v[{first}]" if prim.n_out == 1 else f"v[{first}:{first + prim.n_out}]"
        body = None
        if prim.inline is not None and program.specs is not None:
            body = prim.inline(Site(program, ins, attrs, env, k, saving=saved is not None))
        if body is not None:
            lines += [f"    {line}" for line in body]
            lines.append(f"    {target} = out" if saved is None else f"    {target}, v[{saved}] = out, saved")
            continue
        env[f"f{k}"] = prim.forward if saved is None else prim.forward_saving
        call = f"f{k}({_args(ins, attrs, env, k)})"
        if saved is not None:  # (outputs, the value its gradient reads)
            target = f"{target}, v[{saved}]"
        lines.append(f"    {target} = {call}")
    lines.append("    return v")
    return _define("forward", "raw", lines, env)


def backward_function(program, plan, nd_vjp):
    """``backward(vals, head_grads) -> grads``: every slot's gradient the ``plan`` reaches (None where nothing
    flows). ``plan`` lists ``(primitive, raw_vjp, first output slot, input slots, needs, attrs, saved slot)``
    in reverse (the saved slot None unless the forward saved a value for raw_vjp); a step whose raw_vjp is
    missing or declines runs ``nd_vjp`` (its NDArray vjp on wrapped arrays)."""
    env = dict(_NAMES, nd_vjp=nd_vjp, ctx=program.ctx, zeros_like=program.ctx.xp.zeros_like)
    lines = [f"    G = [None] * {program.nslots}"]
    written = set()  # slots an earlier line may have given a gradient: only those need a sum
    for i, h in enumerate(program.heads[:program.differentiable]):  # the heads that take a gradient
        lines.append(f"    G[{h}] = hg[{i}]" if h not in written else f"    G[{h}] = G[{h}] + hg[{i}]")
        written.add(h)
    for k, (prim, raw, first, ins, needs, attrs, saved) in enumerate(plan):
        if written.isdisjoint(range(first, first + prim.n_out)):
            continue  # no gradient can reach this step's outputs
        env[f"p{k}"], env[f"n{k}"], env[f"at{k}"] = prim, needs, attrs
        n = prim.n_out
        if n == 1:
            lines += [f"    g = G[{first}]", "    if g is not None:", f"        o = v[{first}]"]
        else:  # outputs nobody used get zeros, as autograd gives them
            lines += [f"    g = G[{first}:{first + n}]", "    if g.count(None) < len(g):",
                      f"        o = tuple(v[{first}:{first + n}])",
                      "        g = tuple(zeros_like(y) if x is None else x for x, y in zip(g, o))"]
        xs = ", ".join(f"v[{s}]" for s in ins)
        fallback = f"nd_vjp(p{k}, g, o, [{xs}], n{k}, at{k}, ctx)"
        if raw is None:
            lines.append(f"        r = {fallback}")
            result = "r[{}]".format
        else:
            env[f"raw{k}"] = raw
            extra = f"needs=n{k}" if saved is None else f"needs=n{k}, saved=v[{saved}]"
            call = f"raw{k}(g, o, {_args(ins, attrs, env, k, extra=extra)})"
            body = None
            if n == 1 and prim.inline_vjp is not None and program.specs is not None:
                body = prim.inline_vjp(Site(program, ins, attrs, env, k, needs=needs, call=call, fallback=fallback,
                                            saved=None if saved is None else f"v[{saved}]"))
            if body is not None:
                lines += [f"        {line}" for line in body]
                result = "r{}".format
            else:
                lines += [f"        r = {call}", "        if r is None:", f"            r = {fallback}"]
                result = "r[{}]".format
        for j, (s, wanted) in enumerate(zip(ins, needs)):
            if wanted and s not in written:  # the first gradient of this slot (None stays None)
                lines.append(f"        G[{s}] = {result(j)}")
                written.add(s)
            elif wanted:
                lines += [f"        x = {result(j)}", "        if x is not None:",
                          f"            G[{s}] = x if G[{s}] is None else G[{s}] + x"]
    lines.append("    return G")
    return _define("backward", "v, hg", lines, env)


def _args(ins, attrs, env, k, extra=None):
    """The call's arguments: the input slots, then the traced attributes as keywords bound in ``env``."""
    args = [f"v[{s}]" for s in ins]
    if extra:
        args.append(extra)
    for name, value in attrs.items():
        env[f"a{k}_{name}"] = value
        args.append(f"{name}=a{k}_{name}")
    return ", ".join(args)


def _define(name, params, lines, env):
    source = f"def {name}({params}):\n" + "\n".join(lines) + "\n"
    code = _compiled.get(source)
    if code is None:  # the same network traced again (a new Module, a sweep's next run) compiles nothing
        filename = f"<trainkit.compiled {name} {next(_count)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # tracebacks show the line
        code = _compiled[source] = compile(source, filename, "exec")
    exec(code, env)
    fn = env[name]
    fn.source = source
    return fn


_count = itertools.count()
_compiled = {}  # source -> code object: the source names its constants, their values live in each env
