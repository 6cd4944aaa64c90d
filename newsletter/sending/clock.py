"""The time a worker reads and waits on; tests pass a clock they control."""

import time


class Clock:
    """The system's monotonic clock and sleep."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = Clock()
