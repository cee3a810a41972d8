"""The two objects every stage passes around: a `Frame` in, `Detections` out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded picture with its place in the stream.

    `t` is stream time in seconds (container timestamp for files, wall clock since start for
    live sources); `index` is the frame's position in the source. Rules never read the clock,
    only `t`.

    >>> Frame(image=np.zeros((4, 4, 3), np.uint8), t=1.5, index=37).t
    1.5
    """

    image: npt.NDArray[np.uint8]
    t: float
    index: int

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class Detections:
    """Detections of one frame as parallel arrays, in pixel coordinates of that frame.

    >>> d = Detections.from_lists([[0, 0, 10, 10]], [0.9], [2], ("person", "bicycle", "car"))
    >>> d.names
    ['car']
    """

    xyxy: FloatArray  # (N, 4) x1, y1, x2, y2
    confidence: FloatArray  # (N,)
    class_id: IntArray  # (N,)
    class_names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.confidence)
        if self.xyxy.shape != (n, 4) or self.class_id.shape != (n,):
            raise ValueError(
                f"Detections arrays disagree: xyxy {self.xyxy.shape}, "
                f"confidence {self.confidence.shape}, class_id {self.class_id.shape}"
            )

    @classmethod
    def empty(cls, class_names: tuple[str, ...] = ()) -> Detections:
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros((0,), np.float32),
            class_id=np.zeros((0,), np.int64),
            class_names=class_names,
        )

    @classmethod
    def from_lists(
        cls,
        xyxy: list[list[float]] | FloatArray,
        confidence: list[float] | FloatArray,
        class_id: list[int] | IntArray,
        class_names: tuple[str, ...],
    ) -> Detections:
        boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        return cls(
            xyxy=boxes,
            confidence=np.asarray(confidence, dtype=np.float32).reshape(-1),
            class_id=np.asarray(class_id, dtype=np.int64).reshape(-1),
            class_names=class_names,
        )

    def __len__(self) -> int:
        return len(self.confidence)

    @property
    def names(self) -> list[str]:
        """Class name of each detection (``class_<id>`` where the id has no name)."""
        return [self.name_of(int(c)) for c in self.class_id]

    def name_of(self, class_id: int) -> str:
        if 0 <= class_id < len(self.class_names):
            return self.class_names[class_id]
        return f"class_{class_id}"

    def select(self, mask: npt.NDArray[np.bool_] | IntArray) -> Detections:
        """The detections picked by a boolean mask or an index array."""
        return Detections(
            xyxy=self.xyxy[mask],
            confidence=self.confidence[mask],
            class_id=self.class_id[mask],
            class_names=self.class_names,
        )
