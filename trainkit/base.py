"""Errors shared by the whole toolkit."""


class MXNetError(RuntimeError):
    """A misuse of the MXNet-style API (MXNet raises ``mxnet.base.MXNetError``).

    ``user_error`` tells the command line to print the message alone, without a
    traceback: these errors describe what the user did and how to fix it.
    """

    user_error = True
