"""Garbage collection for the processes that serve requests.

CPython's collector runs its young generation every 700 net allocations and, every hundred of
those, a full collection that walks every object the process holds (Django, the apps, DRF: some
250,000 at start-up). A page of 100 people in the API allocates far more than 700 objects, so a
request met a full collection every few calls: at the small data set, its p95 was 228–278 ms
against a median of 36–56 ms (`manage.py benchmark`, 60 requests). With what start-up loaded
frozen (never scanned again) and a young generation of 50,000, the p95 was 56–100 ms and the
median unchanged. Memory: garbage in cycles lives a little longer before it is collected.

`tune()` is called once a process has loaded the project: by the WSGI module (gunicorn, the load
test) and by the benchmark, so that it measures what users get.
"""

import gc

YOUNG_GENERATION = 50_000


def tune() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, 50, 100)
