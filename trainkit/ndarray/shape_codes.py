"""MXNet's reshape codes, resolved against an input shape (``NDArray.reshape``, ``nd.reshape``).

``0`` copies the next input dim, ``-1`` is inferred from the size, ``-2`` copies
all remaining input dims, ``-3`` merges the next two input dims, ``-4`` splits the
next input dim into the two codes that follow it (one may be ``-1``);
``reverse=True`` matches codes to dims from the right. As in MXNet, input dims that
no code consumes are dropped, so a wrong code list shows up as a size mismatch,
which the caller reports (``NDArray.reshape`` raises ``ValueError`` as MXNet's does).
"""
import math

from ..base import MXNetError


def resolve_reshape(old, codes, reverse=False):
    """The shape MXNet gives ``old`` reshaped with ``codes`` (a tuple of ints); size is not checked here."""
    old, codes = tuple(int(n) for n in old), tuple(int(c) for c in codes)
    if reverse:  # MXNet reverses both lists, resolves, and reverses the result back
        return tuple(reversed(_resolve(old[::-1], codes[::-1], codes)))
    return _resolve(old, codes, codes)


def _resolve(old, codes, shown):
    out, src, infer, i = [], 0, None, 0

    def take(code):
        if src >= len(old):
            raise MXNetError(f"reshape: code {code} in shape {shown} has no input dim left to refer to "
                             f"(input shape {old}).")
        return old[src]

    while i < len(codes):
        code = codes[i]
        if code == 0:
            out.append(take(code)); src += 1
        elif code == -1:
            if infer is not None:
                raise MXNetError(f"reshape: at most one -1 is allowed in shape {shown}.")
            infer = len(out)
            out.append(1); src += 1
        elif code == -2:
            out.extend(old[src:]); src = len(old)
        elif code == -3:
            first = take(code); src += 1
            out.append(first * take(code)); src += 1
        elif code == -4:
            if i + 2 >= len(codes):
                raise MXNetError(f"reshape: -4 in shape {shown} must be followed by two dims to split into.")
            whole = take(code); src += 1
            d1, d2 = codes[i + 1], codes[i + 2]
            if d1 == -1 and d2 == -1:
                raise MXNetError(f"reshape: -4 in shape {shown} can split into at most one -1.")
            if d1 == -1:
                d1 = whole // d2 if d2 else 0
            elif d2 == -1:
                d2 = whole // d1 if d1 else 0
            if d1 * d2 != whole:
                raise MXNetError(f"reshape: -4 in shape {shown} splits dim {whole} into {d1} x {d2}, which "
                                 f"does not multiply back to {whole}.")
            out.extend((d1, d2))
            i += 2
        elif code < -4:
            raise MXNetError(f"reshape: {code} in shape {shown} is not a shape code (use 0, -1, -2, -3, -4 "
                             "or a positive size).")
        else:
            out.append(code); src += 1
        i += 1
    if infer is not None:
        known = math.prod(out)
        total = math.prod(old)
        out[infer] = total // known if known else 0
    return tuple(out)
