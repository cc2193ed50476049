"""Calls run at the same time in threads, for the tests of locks."""


def at_once(*calls) -> list[object]:
    """Run the calls in threads released together; each one's result, or the exception it
    raised, in the order they finished. Each thread reads messages in English (a new thread
    starts in the site's language) and closes its own database connection."""
    import threading

    from django.db import connection
    from django.utils import translation

    barrier = threading.Barrier(len(calls))
    results: list[object] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait(timeout=10)
            with translation.override("en"):
                result: object = call()
        except Exception as exc:  # collected for the test to assert on
            result = exc
        finally:
            connection.close()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
