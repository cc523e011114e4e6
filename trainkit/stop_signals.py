"""Stop signals for ``Trainer.fit``: SIGINT (Ctrl-C), SIGTERM (SLURM, ``timeout``, most schedulers),
SIGUSR1, and a scheduler's own handler where one is installed (submitit's preemption signal).

The first signal only sets a flag; the loop sees it at the next batch boundary, saves a checkpoint
and raises ``Interrupted``, after calling the handler that was there before (so submitit still
requeues the job). A second signal stops at once. The command line exits with 128 + the signal.
"""
import logging
import signal
import threading

from . import checkpoint as _ckpt

log = logging.getLogger("trainkit")

# the signals that stop a run like Ctrl-C: SIGTERM is what SLURM, `timeout` and most schedulers send
_STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGUSR1") if hasattr(signal, n))


class Interrupted(KeyboardInterrupt):
    """A stop signal ended ``fit`` after a checkpoint: ``checkpoint`` is the trainer-NNNN.json written
    (None without out_dir), ``signum`` the signal (SIGINT for Ctrl-C). The command line exits with
    128 + signum (130 for Ctrl-C, 143 for SIGTERM, 138 for SIGUSR1)."""

    def __init__(self, checkpoint=None, epoch=0, batches_done=0, signum=signal.SIGINT):
        super().__init__(checkpoint)
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.batches_done = batches_done
        self.signum = int(signum)


def install(trainer):
    """SIGINT, SIGTERM, SIGUSR1 (and a scheduler's own handler, such as submitit's preemption
    signal): finish the batch, checkpoint, then raise Interrupted (after calling a handler that
    was there before, so submitit still requeues). A second signal stops at once."""
    trainer._stop_signal = None
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    wanted = list(_STOP_SIGNALS)
    usr2 = getattr(signal, "SIGUSR2", None)
    if usr2 is not None and callable(signal.getsignal(usr2)):
        wanted.append(usr2)  # submitit's preemption/timeout signal
    installed = {}

    def handler(signum, frame):
        if trainer._stop_signal is not None:
            raise Interrupted(None, trainer.epoch, trainer._batches_done, signum)
        trainer._stop_signal = signum
        log.warning("%s: stopping after this batch and saving a checkpoint (send it again to abort)",
                    "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name)

    for sig in wanted:
        prev = signal.getsignal(sig)
        if sig == signal.SIGINT and prev is not signal.default_int_handler:
            continue  # someone else handles Ctrl-C
        if prev is signal.SIG_IGN:
            continue  # nohup and friends asked to ignore it
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):
            continue
        installed[sig] = prev
    trainer._previous_handlers = installed

    def restore():
        for sig, prev in installed.items():
            signal.signal(sig, prev if prev is not None else signal.SIG_DFL)
    return restore

def interrupt(trainer, batches_done):
    signum = trainer._stop_signal
    ckpt = None
    if trainer.out_dir is not None:
        if batches_done:
            ckpt = trainer._save_checkpoint(trainer.epoch + 1, batches_done)
        else:
            existing = trainer.out_dir / _ckpt.name("json", trainer.epoch)
            ckpt = existing if trainer.epoch and existing.is_file() else (
                trainer._save_checkpoint(trainer.epoch, 0) if trainer.epoch else None)
        if ckpt is not None:
            where = (f"in epoch {trainer.epoch + 1} after {batches_done} batches" if batches_done
                     else f"after epoch {trainer.epoch}")
            log.warning("interrupted %s; checkpoint %s (continue with trainer.resume=%s)", where, ckpt,
                        trainer.out_dir)
    prev = trainer._previous_handlers.get(signum)
    if callable(prev) and prev is not signal.default_int_handler and not getattr(prev, "trainkit_early", False):
        prev(signum, None)  # e.g. submitit: requeue the job, then exit
    raise Interrupted(str(ckpt) if ckpt else None, trainer.epoch, batches_done, signum)
