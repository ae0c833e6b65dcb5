"""Where scan tasks run: this process, a local process pool, or a Ray cluster.

Nothing here distributes work by itself: the local pool is ``concurrent.futures``, the
cluster is Ray (an optional extra, ``pip install 'hlsforge[ray]'``). Both receive the scan
context once — the pool through its initializer, Ray through ``ray.put`` — and each task is
only a precision and its points, so a worker never re-loads the model. Results come back in
task order whatever order the tasks finish in, which is what makes local and Ray tables equal.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import Any

from ..errors import HlsforgeError
from ..progress import track

__all__ = ["run_tasks", "EXECUTORS"]

EXECUTORS = ("local", "ray")

_CONTEXT: Any = None  # the ScanContext of this worker process (set by the pool initializer)


def _init_worker(ctx: Any) -> None:
    global _CONTEXT
    _CONTEXT = ctx


def _pool_task(task: Any) -> list[dict[str, Any]]:
    from .explore import evaluate

    return evaluate(_CONTEXT, task)


def _ray_task(ctx: Any, task: Any) -> list[dict[str, Any]]:
    from .explore import evaluate

    return evaluate(ctx, task)


def _describe(n: int) -> str:
    return f"scan ({n} precision{'s' if n != 1 else ''})"


def _run_serial(ctx: Any, tasks: Sequence[Any], quiet: bool | None) -> list[Any]:
    from .explore import evaluate

    return [evaluate(ctx, t) for t in track(tasks, _describe(len(tasks)), total=len(tasks), quiet=quiet)]


def _run_pool(ctx: Any, tasks: Sequence[Any], workers: int, quiet: bool | None) -> list[Any]:
    # fork where the OS has it: a spawned worker re-imports the caller's __main__, which would
    # re-run a user's script that calls scan() without an ``if __name__ == "__main__"`` guard.
    # The workers only run numpy on their own copies, so the parent's threads do not matter.
    methods = multiprocessing.get_all_start_methods()
    mp = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    results: list[Any] = [None] * len(tasks)
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp, initializer=_init_worker, initargs=(ctx,)) as pool:
        futures: dict[Future[Any], int] = {pool.submit(_pool_task, t): i for i, t in enumerate(tasks)}
        for fut in track(as_completed(futures), _describe(len(tasks)), total=len(tasks), quiet=quiet):
            results[futures[fut]] = fut.result()
    return results


def _run_executor(ctx: Any, tasks: Sequence[Any], pool: Executor, quiet: bool | None) -> list[Any]:
    """A caller's own ``concurrent.futures.Executor`` (threads, processes, dask's, ...)."""
    results: list[Any] = [None] * len(tasks)
    futures = {pool.submit(_ray_task, ctx, t): i for i, t in enumerate(tasks)}
    for fut in track(as_completed(futures), _describe(len(tasks)), total=len(tasks), quiet=quiet):
        results[futures[fut]] = fut.result()
    return results


def _run_ray(ctx: Any, tasks: Sequence[Any], address: str | None, workers: int | None, quiet: bool | None) -> list[Any]:
    try:
        import ray
    except ImportError:
        raise HlsforgeError("executor='ray' needs Ray: pip install 'hlsforge[ray]'") from None
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except Exception as e:  # Ray raises ConnectionError, RuntimeError, ValueError, ...
            raise HlsforgeError(f"cannot connect to Ray at {address or '(default)'}: {e}") from None
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
        ctx_ref = ray.put(ctx)
        limit = workers or len(tasks)
        index_of: dict[Any, int] = {}
        results: list[Any] = [None] * len(tasks)
        queue = list(enumerate(tasks))

        def done_refs() -> Any:
            pending: list[Any] = []
            while queue or pending:
                while queue and len(pending) < limit:
                    i, t = queue.pop(0)
                    ref = remote.remote(ctx_ref, t)
                    index_of[ref] = i
                    pending.append(ref)
                ready, pending = ray.wait(pending, num_returns=1)
                yield from ready

        for ref in track(done_refs(), _describe(len(tasks)), total=len(tasks), quiet=quiet):
            try:
                results[index_of[ref]] = ray.get(ref)
            except ray.exceptions.RayTaskError as e:
                raise HlsforgeError(f"a scan task failed on the Ray cluster: {e}") from None
        return results
    finally:
        if started:
            ray.shutdown()


def run_tasks(
    ctx: Any,
    tasks: Sequence[Any],
    *,
    executor: str | Executor = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    quiet: bool | None = None,
) -> tuple[list[Any], str]:
    """Run ``evaluate(ctx, task)`` for every task; results in task order, and a description
    of where they ran (``"local (2 processes)"``, ``"ray"``, ...)."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise HlsforgeError(f"scan: workers must be a positive integer, got {workers!r}")
    if isinstance(executor, Executor):
        return _run_executor(ctx, tasks, executor, quiet), type(executor).__name__
    if executor == "ray":
        return _run_ray(ctx, tasks, ray_address, workers, quiet), "ray"
    if executor != "local":
        raise HlsforgeError(f"scan: unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}")
    if ray_address is not None:
        raise HlsforgeError("scan: ray_address is only used with executor='ray'")
    n = min(workers or os.cpu_count() or 1, len(tasks))
    if n <= 1:
        return _run_serial(ctx, tasks, quiet), "local (1 process)"
    return _run_pool(ctx, tasks, n, quiet), f"local ({n} processes)"
