"""The time a worker reads and waits on; tests pass a clock they control."""

import threading
import time


class Clock:
    """The system's monotonic clock and sleep."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = Clock()


class Pacer:
    """Spaces calls at least 1/per_second apart, across the threads sharing it.

    Each call books the next free moment under a lock, then waits for it
    outside: a provider that stalls and then frees every thread at once does
    not get a burst, since each message still waits for its own moment.
    """

    def __init__(self, per_second: float, clock: Clock = SYSTEM_CLOCK):
        self.interval = 1 / per_second if per_second > 0 else 0.0
        self.clock = clock
        self.lock = threading.Lock()
        self.next_at = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = self.clock.monotonic()
            at = max(now, self.next_at)
            self.next_at = at + self.interval
        if at > now:
            self.clock.sleep(at - now)
