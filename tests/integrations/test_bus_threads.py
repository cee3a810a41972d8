"""The alert bus hands events to consumer threads (integrations) without ever blocking."""

from __future__ import annotations

import threading
import time

from pipeline.alerts import AlertBus


def test_a_thread_subscriber_gets_every_event_in_order() -> None:
    bus = AlertBus()
    sub = bus.subscribe_thread()
    got: list[int] = []

    def consume() -> None:
        while len(got) < 100:
            event = sub.get(timeout=2)
            assert event is not None
            got.append(event["n"])

    consumer = threading.Thread(target=consume)
    consumer.start()
    for n in range(100):
        bus.publish({"n": n})
    consumer.join(5)
    assert got == list(range(100))
    assert sub.dropped == 0


def test_a_full_thread_subscriber_drops_its_oldest_and_never_blocks_the_publisher() -> None:
    bus = AlertBus(max_queue=3)
    sub = bus.subscribe_thread()
    started = time.monotonic()
    for n in range(10):
        bus.publish({"n": n})
    assert time.monotonic() - started < 0.5
    assert [sub.get(timeout=0)["n"] for _ in range(3)] == [7, 8, 9]  # type: ignore[index]
    assert sub.get(timeout=0) is None
    assert sub.dropped == 7


def test_a_closed_thread_subscriber_gets_nothing_more() -> None:
    bus = AlertBus()
    sub = bus.subscribe_thread()
    assert bus.subscriber_count == 1
    sub.close()
    bus.publish({"n": 1})
    assert bus.subscriber_count == 0
    assert sub.get(timeout=0) is None
