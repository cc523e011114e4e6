"""``mx.nd.linalg``: MXNet's linear-algebra operators, batched over leading axes.

Every operator works on the last two axes (gemm/gemm2 on ``axis`` and the last)
and loops over the others, as MXNet's do. A handful of primitives carry the
maths (batched product, triangle mask, triangular solve, Cholesky, inverse,
determinants, LQ, symmetric eigendecomposition, diagonal/triangle packing);
their vjps are written with these same operators, so gradients of every order
exist. Matrix gradients follow MXNet: potrf reads and differentiates the lower
triangle of a symmetric input and gives a symmetric gradient, as does syevd;
trsm/trmm use (and differentiate) only the chosen triangle of ``A``.

Registered as ``_linalg_X`` (so ``nd.linalg.X`` and ``sym.linalg.X``) with the
legacy top-level alias ``linalg_X``.
"""
import numpy as np

from .core import primitive
from .table import operator
from . import elementwise as ew, reduce, shape as sh
from ..base import MXNetError
from ..ndarray.ndarray import NDArray, apply


def _register(name, inputs=("A",), **kw):
    aliases = () if name == "syevd" else (f"linalg_{name}",)  # MXNet 1.9.1 has no linalg_syevd
    return operator(inputs=inputs, name=f"_linalg_{name}", aliases=aliases, hint=name, **kw)


def _t(x):
    return x.swapaxes(-1, -2)


def _square(op, A):
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise MXNetError(f"linalg.{op} needs square matrices on the last two axes, got shape {A.shape}.")


def _matrices(op, *arrays):
    for a in arrays:
        if a.ndim < 2:
            raise MXNetError(f"linalg.{op} needs arrays of at least 2 dimensions (matrices on the last two axes), "
                             f"got shape {a.shape}.")
    if len({a.shape[:-2] for a in arrays}) > 1:
        raise MXNetError(f"linalg.{op}: the leading (batch) axes differ: " + ", ".join(str(a.shape) for a in arrays))


def _numpy_linalg(op, fn, *args):
    try:
        return fn(*args)
    except np.linalg.LinAlgError as err:
        hint = " (the input must be symmetric positive definite)" if op == "potrf" else ""
        raise MXNetError(f"linalg.{op} failed: {err}{hint}.") from None


# ----- the batched product ---------------------------------------------------------------------------
def _mm_fwd(a, b, transpose_a, transpose_b):
    return np.matmul(_t(a) if transpose_a else a, _t(b) if transpose_b else b)


def _mm_vjp(g, out, a, b, transpose_a, transpose_b):
    ta, tb = transpose_a, transpose_b
    da = _mm(b, g, tb, True) if ta else _mm(g, b, False, not tb)
    db = _mm(g, a, True, ta) if tb else _mm(a, g, not ta, False)
    return da, db


MATMUL = primitive("_linalg_matmul", _mm_fwd, _mm_vjp)


def _mm(a, b, transpose_a=False, transpose_b=False):
    return apply(MATMUL, a, b, transpose_a=transpose_a, transpose_b=transpose_b)


def _swap(x):
    return sh.swapaxes(x, x.ndim - 2, x.ndim - 1)


# ----- triangle mask ----------------------------------------------------------------------------
def _tri_fwd(x, k, lower):
    return np.tril(x, k) if lower else np.triu(x, k)


TRIANGLE = primitive("_linalg_triangle", _tri_fwd, lambda g, out, x, k, lower: (apply(TRIANGLE, g, k=k, lower=lower),))


def _tri(x, lower=True, k=0):
    return apply(TRIANGLE, x, k=k, lower=lower)


def _copy_lower_to_upper(m):
    """The symmetric matrix whose lower triangle is ``m``'s."""
    return _tri(m) + _swap(_tri(m, k=-1))


# ----- gemm, gemm2, syrk, trmm ----------------------------------------------------------------------
def _rows_axis_last(x, axis):
    axis %= x.ndim
    return x if axis == x.ndim - 2 else sh.transpose(x, _move(axis, x.ndim - 2, x.ndim))


def _rows_axis_back(x, axis):
    axis %= x.ndim
    return x if axis == x.ndim - 2 else sh.transpose(x, _move(x.ndim - 2, axis, x.ndim))


def _move(src, dst, ndim):
    order = [i for i in range(ndim) if i != src]
    order.insert(dst, src)
    return tuple(order)


def _check_product(op, a, b, ta, tb):
    k1 = a.shape[-2] if ta else a.shape[-1]
    k2 = b.shape[-1] if tb else b.shape[-2]
    if k1 != k2:
        raise MXNetError(f"linalg.{op}: A {a.shape} and B {b.shape} do not fit (transpose_a={ta}, transpose_b={tb}): "
                         f"the inner dimensions {k1} and {k2} differ.")


@_register("gemm2", inputs=("A", "B"))
def gemm2(A, B, transpose_a=False, transpose_b=False, alpha=1.0, axis=-2, name=None):
    """``alpha * op(A) @ op(B)``, op transposing when asked; matrices on ``axis`` (rows) and the last axis."""
    if A.ndim < 2 or B.ndim < 2:
        _matrices("gemm2", A, B)
    a, b = _rows_axis_last(A, axis), _rows_axis_last(B, axis)
    _matrices("gemm2", a, b)
    _check_product("gemm2", a, b, transpose_a, transpose_b)
    return _rows_axis_back(_mm(a, b, bool(transpose_a), bool(transpose_b)) * float(alpha), axis)


@_register("gemm", inputs=("A", "B", "C"))
def gemm(A, B, C, transpose_a=False, transpose_b=False, alpha=1.0, beta=1.0, axis=-2, name=None):
    """``alpha * op(A) @ op(B) + beta * C``."""
    product = gemm2(A, B, transpose_a, transpose_b, alpha, axis)
    if product.shape != C.shape:
        raise MXNetError(f"linalg.gemm: C has shape {C.shape} but op(A) @ op(B) has shape {product.shape}.")
    return product + C * float(beta)


@_register("syrk")
def syrk(A, transpose=False, alpha=1.0, name=None):
    """``alpha * A @ Aᵀ`` (``transpose=True``: ``alpha * Aᵀ @ A``)."""
    _matrices("syrk", A)
    return _mm(A, A, bool(transpose), not transpose) * float(alpha)


@_register("trmm", inputs=("A", "B"))
def trmm(A, B, transpose=False, rightside=False, lower=True, alpha=1.0, name=None):
    """``alpha * op(A) @ B`` (``rightside``: ``alpha * B @ op(A)``) with ``A`` triangular (only that triangle read)."""
    _matrices("trmm", A, B)
    _square("trmm", A)
    n = B.shape[-1] if rightside else B.shape[-2]
    if A.shape[-1] != n:
        raise MXNetError(f"linalg.trmm: A {A.shape} does not fit B {B.shape} (rightside={rightside}).")
    tri = _tri(A, bool(lower))
    product = _mm(B, tri, False, bool(transpose)) if rightside else _mm(tri, B, bool(transpose), False)
    return product * float(alpha)


# ----- triangular solve -------------------------------------------------------------------------
def _trsm_fwd(a, b, transpose, rightside, lower, alpha):
    m = _tri_fwd(a, 0, lower)
    if transpose:
        m = _t(m)
    if rightside:  # X m = alpha B  <=>  mᵀ Xᵀ = alpha Bᵀ
        return _t(_numpy_linalg("trsm", np.linalg.solve, _t(m), _t(b))) * alpha
    return _numpy_linalg("trsm", np.linalg.solve, m, b) * alpha


def _trsm_vjp(g, out, a, b, transpose, rightside, lower, alpha):
    # left: X = α M⁻¹ B, so B̄ = α M⁻ᵀ Ḡ and M̄ = -(B̄/α) Xᵀ; right: X = α B M⁻¹, B̄ = α Ḡ M⁻ᵀ, M̄ = -Xᵀ (B̄/α)
    db = trsm(a, g, transpose=not transpose, rightside=rightside, lower=lower, alpha=alpha)
    dm = _mm(out, db, True, False) if rightside else _mm(db, out, False, True)
    dm = dm * (-1.0 / alpha)
    da = _tri(_swap(dm) if transpose else dm, lower)
    return da, db


TRSM = primitive("_linalg_trsm", _trsm_fwd, _trsm_vjp)


@_register("trsm", inputs=("A", "B"))
def trsm(A, B, transpose=False, rightside=False, lower=True, alpha=1.0, name=None):
    """Solve ``op(A) X = alpha B`` (``rightside``: ``X op(A) = alpha B``) for triangular ``A``."""
    _matrices("trsm", A, B)
    _square("trsm", A)
    n = B.shape[-1] if rightside else B.shape[-2]
    if A.shape[-1] != n:
        raise MXNetError(f"linalg.trsm: A {A.shape} does not fit B {B.shape} (rightside={rightside}).")
    return apply(TRSM, A, B, transpose=bool(transpose), rightside=bool(rightside), lower=bool(lower),
                 alpha=float(alpha))


# ----- Cholesky: potrf, potri ------------------------------------------------------------------------
def _potrf_vjp(g, out, a):
    # Murray (2016): S = L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹ with Φ the lower triangle, diagonal halved; Ā = (S + Sᵀ)/2
    L = out
    phi = _tri(_mm(L, _tri(g), True, False))
    phi = phi - 0.5 * _tri(_tri(phi, lower=False), lower=True)  # halve the diagonal
    s = trsm(L, trsm(L, phi, transpose=True), rightside=True)
    return (0.5 * (s + _swap(s)),)


POTRF = primitive("_linalg_potrf", lambda a: _numpy_linalg("potrf", np.linalg.cholesky, a), _potrf_vjp)


@_register("potrf")
def potrf(A, lower=True, name=None):
    """The Cholesky factor of a symmetric positive-definite ``A``: lower ``L`` with ``A = L Lᵀ``
    (``lower=False``: upper ``U = Lᵀ`` with ``A = Uᵀ U``). The lower triangle of ``A`` is read."""
    _square("potrf", A)
    chol = apply(POTRF, A)
    return chol if lower else _swap(chol)


@_register("potri")
def potri(A, lower=True, name=None):
    """``(L Lᵀ)⁻¹`` from a lower Cholesky factor ``L`` (``lower=False``: ``(Uᵀ U)⁻¹`` from an upper ``U``),
    the output of potrf: the inverse of the original matrix."""
    _square("potri", A)
    if not lower:
        A = _swap(A)
    eye = NDArray(A._ctx.xp.broadcast_to(A._ctx.xp.eye(A.shape[-1], dtype=A._data.dtype), A.shape).copy(), A._ctx)
    inv_l = trsm(A, eye)
    return _mm(inv_l, inv_l, True, False)


# ----- inverse and determinants ----------------------------------------------------------------------
def _inverse_vjp(g, out, a):
    return (-_mm(_mm(out, g, True, False), out, False, True),)


INVERSE = primitive("_linalg_inverse", lambda a: _numpy_linalg("inverse", np.linalg.inv, a), _inverse_vjp)


@_register("inverse")
def inverse(A, name=None):
    """``A⁻¹`` of each square matrix."""
    _square("inverse", A)
    return apply(INVERSE, A)


def _stat_shape(A):
    return A.shape[:-2] or (1,)  # one matrix gives shape (1,), as MXNet's legacy arrays do


def _expand2(x, A):
    return sh.reshape(x, A.shape[:-2] + (1, 1))


DET = primitive("_linalg_det", lambda a: np.linalg.det(a).reshape(a.shape[:-2] or (1,)),
                lambda g, out, a: (_expand2(g * out, a) * _swap(inverse(a)),))


@_register("det")
def det(A, name=None):
    """The determinant of each square matrix: shape A.shape[:-2], or (1,) for one matrix."""
    _square("det", A)
    return apply(DET, A)


def _slogdet_fwd(a):
    sign, logabs = np.linalg.slogdet(a)
    shape = a.shape[:-2] or (1,)
    return sign.reshape(shape).astype(a.dtype), logabs.reshape(shape).astype(a.dtype)


SLOGDET = primitive("_linalg_slogdet", _slogdet_fwd,
                    lambda g, out, a: (_expand2(g[1], a) * _swap(inverse(a)),), n_out=2)


@_register("slogdet", num_outputs=2)
def slogdet(A, name=None):
    """``(sign, log|det|)`` of each square matrix; the gradient flows through log|det| only."""
    _square("slogdet", A)
    return list(apply(SLOGDET, A))


# ----- diagonals and triangles ----------------------------------------------------------------------
def _extractdiag_fwd(a, offset):
    return np.diagonal(a, offset, -2, -1).copy()


def _makediag_fwd(v, offset):
    n = v.shape[-1] + abs(offset)
    out = np.zeros(v.shape[:-1] + (n, n), dtype=v.dtype)
    idx = np.arange(v.shape[-1])
    rows, cols = (idx, idx + offset) if offset >= 0 else (idx - offset, idx)
    out[..., rows, cols] = v
    return out


EXTRACTDIAG = primitive("_linalg_extractdiag", _extractdiag_fwd,
                        lambda g, out, a, offset: (apply(MAKEDIAG, g, offset=offset),))
MAKEDIAG = primitive("_linalg_makediag", _makediag_fwd,
                     lambda g, out, v, offset: (apply(EXTRACTDIAG, g, offset=offset),))


@_register("extractdiag")
def extractdiag(A, offset=0, name=None):
    """The diagonal ``offset`` (0 the main one, > 0 above, < 0 below) of each square matrix."""
    _square("extractdiag", A)
    if abs(offset) >= A.shape[-1]:
        raise MXNetError(f"linalg.extractdiag: offset={offset} is outside matrices of shape {A.shape[-2:]}.")
    return apply(EXTRACTDIAG, A, offset=int(offset))


@_register("makediag")
def makediag(A, offset=0, name=None):
    """Square matrices with the last axis of ``A`` on diagonal ``offset``, zeros elsewhere."""
    return apply(MAKEDIAG, A, offset=int(offset))


def _trian_index(n, offset, lower):
    """Row and column indices of the packed triangle, in MXNet's order (row-major of the lower triangle;
    the upper one is packed as the lower triangle of the transpose)."""
    if offset < 0 or (offset == 0 and lower):
        return np.tril_indices(n, offset)
    rows, cols = np.tril_indices(n, -offset)
    return cols, rows


def _extracttrian_fwd(a, offset, lower):
    rows, cols = _trian_index(a.shape[-1], offset, lower)
    return a[..., rows, cols]


def _maketrian_fwd(v, offset, lower):
    m = v.shape[-1]
    k = int(round((np.sqrt(8 * m + 1) - 1) / 2))
    n = k + abs(offset)
    out = np.zeros(v.shape[:-1] + (n, n), dtype=v.dtype)
    rows, cols = _trian_index(n, offset, lower)
    out[..., rows, cols] = v
    return out


EXTRACTTRIAN = primitive("_linalg_extracttrian", _extracttrian_fwd,
                         lambda g, out, a, offset, lower: (apply(MAKETRIAN, g, offset=offset, lower=lower),))
MAKETRIAN = primitive("_linalg_maketrian", _maketrian_fwd,
                      lambda g, out, v, offset, lower: (apply(EXTRACTTRIAN, g, offset=offset, lower=lower),))


@_register("extracttrian")
def extracttrian(A, offset=0, lower=True, name=None):
    """The triangle of each square matrix as a vector (below diagonal ``offset`` < 0, above it for > 0;
    for 0, ``lower`` picks the lower or upper triangle, the diagonal included)."""
    _square("extracttrian", A)
    if abs(offset) >= A.shape[-1]:
        raise MXNetError(f"linalg.extracttrian: offset={offset} is outside matrices of shape {A.shape[-2:]}.")
    return apply(EXTRACTTRIAN, A, offset=int(offset), lower=bool(lower))


@_register("maketrian")
def maketrian(A, offset=0, lower=True, name=None):
    """The inverse of extracttrian: square matrices from packed triangles (the last axis of ``A``)."""
    m = A.shape[-1]
    k = int(round((np.sqrt(8 * m + 1) - 1) / 2))
    if k * (k + 1) // 2 != m:
        raise MXNetError(f"linalg.maketrian: the last axis has {m} entries, which is not a triangle's size "
                         f"k(k+1)/2.")
    return apply(MAKETRIAN, A, offset=int(offset), lower=bool(lower))


@_register("sumlogdiag")
def sumlogdiag(A, name=None):
    """``sum(log(diag(A)))`` of each square matrix: shape A.shape[:-2], or (1,) for one matrix."""
    _square("sumlogdiag", A)
    logs = ew.log(extractdiag(A))
    return sh.reshape(reduce.sum(logs, axis=-1), _stat_shape(A))


# ----- LQ and the symmetric eigendecomposition ---------------------------------------------------------
def _gelqf_fwd(a):
    q, r = np.linalg.qr(_t(a))  # A = L Q  <=>  Aᵀ = Qᵀ Lᵀ, a QR factorisation (LAPACK's signs, as MXNet's)
    return _t(q).copy(), _t(r).copy()


def _gelqf_vjp(g, out, a):
    # Ā = L⁻ᵀ (Q̄ + copyltu(M) Q), M = Lᵀ L̄ - Q̄ Qᵀ (Seeger et al., "Auto-differentiating linear algebra")
    (dq, dl), (q, l) = g, out
    m = _mm(l, dl, True, False) - _mm(dq, q, False, True)
    return (trsm(l, dq + _mm(_copy_lower_to_upper(m), q), transpose=True),)


GELQF = primitive("_linalg_gelqf", _gelqf_fwd, _gelqf_vjp, n_out=2)


@_register("gelqf", num_outputs=2)
def gelqf(A, name=None):
    """LQ factorisation ``A = L Q`` of each (m, n) matrix with m <= n: returns ``(Q, L)``, Q with orthonormal rows."""
    _matrices("gelqf", A)
    if A.shape[-2] > A.shape[-1]:
        raise MXNetError(f"linalg.gelqf needs matrices with no more rows than columns, got shape {A.shape}.")
    return list(apply(GELQF, A))


def _syevd_fwd(a):
    w, v = np.linalg.eigh(a)  # reads the lower triangle
    u = _t(v).copy()
    # MXNet's deterministic signs: each row's largest-magnitude entry (the first, on ties) is positive
    top = np.take_along_axis(u, np.abs(u).argmax(axis=-1)[..., None], axis=-1)
    u *= np.where(top < 0, -1, 1).astype(u.dtype)
    return u, w


def _syevd_vjp(g, out, a):
    # A = Uᵀ diag(λ) U with U's rows the eigenvectors:
    # Ā = sym(Uᵀ (diag(λ̄) + F ∘ (U Ūᵀ)) U), F_ij = 1 / (λ_j - λ_i) off the diagonal, 0 on it
    (du, dlam), (u, lam) = g, out
    n = lam.shape[-1]
    eye = NDArray(a._ctx.xp.eye(n, dtype=a._data.dtype), a._ctx)
    gap = sh.expand_dims(lam, -2) - sh.expand_dims(lam, -1)
    f = (1.0 - eye) / (gap + eye)
    inner = apply(MAKEDIAG, dlam, offset=0) + f * _mm(u, du, False, True)
    s = _mm(_mm(u, inner, True, False), u)
    return (0.5 * (s + _swap(s)),)


SYEVD = primitive("_linalg_syevd", _syevd_fwd, _syevd_vjp, n_out=2)


@_register("syevd", num_outputs=2)
def syevd(A, name=None):
    """Eigendecomposition ``A = Uᵀ diag(λ) U`` of symmetric matrices: returns ``(U, λ)``, λ ascending,
    each row of ``U`` signed so that its largest-magnitude entry is positive (as MXNet)."""
    _square("syevd", A)
    return list(apply(SYEVD, A))
