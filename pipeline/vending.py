"""Vending clusters: stalls seen by a generic detector as umbrellas, tables, chairs, benches,
with or without people, standing together. A custom model's stall or cart is a cluster of one.

Each part keeps its own dwell timer (a chair that comes and goes does not restart the
stall's clock); parts are grouped only when a violation is reported, and the cluster's box is
the union of its members' boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.dwell import Candidate
from pipeline.geometry import Box, union_box

PERSON_MIN_STAY_S = 5.0  # a person joins a stall once standing there this long
SEATS = frozenset({"chair", "bench", "stool"})  # alone, street furniture; with more, a stall


@dataclass(frozen=True, slots=True)
class Part:
    candidate: Candidate
    is_person: bool


def group_parts(parts: Sequence[Part], gap: float) -> list[list[Part]]:
    """Connected groups of parts whose boxes come within `gap` box heights of each other.
    People only join a group they touch, and only once they have stayed a while: passers-by
    neither stretch a stall's box nor form a stall alone."""
    things = [p for p in parts if not p.is_person]
    people = [p for p in parts if p.is_person and p.candidate.age >= PERSON_MIN_STAY_S]
    groups = _connected(things, gap)
    for person in people:
        for group in groups:
            if any(_near(person.candidate.box, m.candidate.box, gap) for m in group):
                group.append(person)
                break
    return groups


def is_stall(group: Sequence[Part]) -> bool:
    """A lone seat with nobody at it is street furniture (a bench, a café chair), not a stall;
    two parts, a seat with its vendor, or anything that is not a seat make one."""
    things = [p for p in group if not p.is_person]
    if len(things) > 1 or len(things) < len(group):
        return True
    return bool(things) and things[0].candidate.classes[0] not in SEATS


def group_box(group: Sequence[Part]) -> Box:
    return union_box([m.candidate.box for m in group])


def _connected(parts: Sequence[Part], gap: float) -> list[list[Part]]:
    parent = list(range(len(parts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(parts)):
        for j in range(i + 1, len(parts)):
            if _near(parts[i].candidate.box, parts[j].candidate.box, gap):
                parent[root(i)] = root(j)
    groups: dict[int, list[Part]] = {}
    for i, part in enumerate(parts):
        groups.setdefault(root(i), []).append(part)
    return list(groups.values())


def _near(a: Box, b: Box, gap: float) -> bool:
    margin = gap * min(a[3] - a[1], b[3] - b[1])
    return (
        a[0] - margin <= b[2]
        and b[0] - margin <= a[2]
        and a[1] - margin <= b[3]
        and b[1] - margin <= a[3]
    )
