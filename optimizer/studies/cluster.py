"""One place that opens a Dask client: a local cluster for the run, or an existing one.

A local cluster runs one single-threaded worker process per core (the solver holds the
GIL, so threads would not help) and binds only to 127.0.0.1 with no dashboard, so a run
never opens a port anyone else can reach. A cluster given by its scheduler address is
only connected to: it is left running when the run ends.

Worker code must be importable on the workers: only module-level functions of this
package are submitted, never closures.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from optimizer.errors import InputError, Problem

if TYPE_CHECKING:
    from distributed import Client

CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler before telling the user


def _unreachable(label: str, address: str, why: str) -> InputError:
    return InputError([Problem(label, f"cannot reach the Dask scheduler at {address!r} "
                               f"({why}); expected the address of a running scheduler, e.g. "
                               "tcp://127.0.0.1:8786 (start one with `dask scheduler`)")])


@contextmanager
def dask_client(workers: int, scheduler: str | None = None, label: str = "scheduler",
                timeout: float = CONNECT_TIMEOUT) -> Iterator[Client]:
    """A Dask client: on `scheduler` if given (left running), else on a local cluster.

    Parameters
    ----------
    workers
        Worker processes of the local cluster (ignored with `scheduler`).
    scheduler
        Address of a running scheduler, e.g. "tcp://10.0.0.5:8786".
    label
        How the user names the scheduler setting (the CLI: "--scheduler"), for messages.
    timeout
        Seconds to wait for the scheduler before raising InputError.
    """
    from distributed import Client, LocalCluster
    from distributed.comm.addressing import get_address_host_port

    if scheduler is not None:
        try:
            get_address_host_port(scheduler)
        except (ValueError, TypeError) as e:
            # checked before connecting: a Client on a malformed address hangs on close
            raise InputError([Problem(label, f"found {scheduler!r} ({e}); expected a "
                                      "scheduler address such as tcp://127.0.0.1:8786")]
                             ) from None
        try:
            client = Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as e:
            why = f"no answer within {timeout:g} s" if "Timed out" in str(e) else str(e)
            raise _unreachable(label, scheduler, why) from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           silence_logs=logging.ERROR)
    try:
        with Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        cluster.close()


def cluster_slots(client: Client) -> int:
    """The threads the cluster runs tasks on (at least 1)."""
    return max(1, sum(client.nthreads().values()))
