"""The alert bus hands events from pipeline threads to async consumers."""

from __future__ import annotations

import asyncio
import threading

from pipeline.alerts import AlertBus


def test_events_from_a_thread_reach_every_async_subscriber_in_order() -> None:
    async def scenario() -> list[list[int]]:
        bus = AlertBus()
        subs = [bus.subscribe() for _ in range(3)]

        def publish_five() -> None:
            for i in range(5):
                bus.publish({"n": i})

        thread = threading.Thread(target=publish_five)
        thread.start()
        thread.join()
        got = [[(await asyncio.wait_for(s.get(), 1.0))["n"] for _ in range(5)] for s in subs]
        subs[0].close()
        assert bus.subscriber_count == 2
        return got

    assert asyncio.run(scenario()) == [[0, 1, 2, 3, 4]] * 3


def test_a_slow_subscriber_loses_its_oldest_events_not_the_pipeline() -> None:
    async def scenario() -> tuple[list[int], int]:
        bus = AlertBus(max_queue=3)
        sub = bus.subscribe()
        for i in range(10):
            bus.publish({"n": i})
        await asyncio.sleep(0.05)
        return [(await sub.get())["n"] for _ in range(3)], sub.dropped

    kept, dropped = asyncio.run(scenario())
    assert kept == [7, 8, 9]
    assert dropped == 7
