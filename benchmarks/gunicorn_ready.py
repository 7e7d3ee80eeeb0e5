"""gunicorn settings for the benchmarks (``-c benchmarks/gunicorn_ready.py``): each worker leaves
a file named by its pid in ``LMS_BENCH_READY_DIR`` once it has loaded the application, so that a
benchmark starts measuring only when every worker is ready. (The first worker answers while the
others are still importing the application, which takes seconds of CPU each: measuring then
counts their start-up against the requests, and sends most connections to the first worker.)"""

import os
from pathlib import Path


def post_worker_init(worker) -> None:
    folder = os.environ.get("LMS_BENCH_READY_DIR")
    if folder:
        Path(folder, str(worker.pid)).touch()
