"""``mx.nd.sparse``: MXNet's CSR and row-sparse arrays, which trainkit does not have.

The import works, so code that imports the module and takes a sparse path only on
request still runs; any use of it says what to use instead.
"""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"mx.nd.sparse.{name}: trainkit has dense storage only; CSR and row_sparse arrays "
                         "are outside its scope. Use dense NDArrays (mx.nd.array(scipy_matrix.toarray())).")
