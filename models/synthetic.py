"""Procedural street pictures for training the demo detector, written as a YOLO dataset.

Each picture: a random street layout (shop fronts, sidewalk, road), traffic, parked vehicles,
vending stalls (umbrella, table, chairs or cart, goods, vendor), shop goods and cafe tables
put out on the pavement, carts pushed along the sidewalk and pedestrians, drawn with the
sprites of `models.synthetic_sprites`, then lit (day / dusk / night) and degraded. Labels are
the visible extent of each object read back from an object-id map, so occluded or cut-off
parts never count. The scenario videos (`models.synthetic_video`) use the same drawings.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from models.synthetic_scene import Layout, Look, apply_light, degrade, draw_background
from models.synthetic_sprites import CLASS_ID, CLASSES, Box, IdMap, Image, Style, draw_sprite

logger = logging.getLogger(__name__)

# Train and validation pictures come from disjoint seed ranges of the same generator.
VAL_OFFSET = 500_000
SEED_STRIDE = 1_000_000
SIZES = ((640, 360), (768, 432), (960, 540), (640, 480), (512, 288))


@dataclass
class Placed:
    """One object in a picture: class, pixel box, look and drawing order (larger = in front)."""

    class_name: str
    box: Box
    style: Style
    z: float


def _part(
    rng: random.Random, lay: Layout, name: str, x: float, y: float, z: float | None = None
) -> Placed:
    box = lay.box(name, x, y, rng.uniform(0.85, 1.15))
    return Placed(name, box, Style.random(rng), y if z is None else z)


def stall_parts(rng: random.Random, lay: Layout, x: float, y: float, kind: int) -> list[Placed]:
    """A vending stall standing on the ground row `y` around column `x`.

    kind 0: umbrella, table with goods, stools, vendor; 1: cart with goods and vendor;
    2: goods on the ground under an umbrella with a seated vendor on a stool.
    """
    s = lay.scale(y)
    parts: list[Placed] = []
    if kind == 1:
        base = _part(rng, lay, "cart", x, y)
    elif kind == 0:
        base = _part(rng, lay, "table", x, y)
    else:
        base = _part(rng, lay, "goods", x, y + 2 * s)
    parts.append(base)
    bw = base.box[2] - base.box[0]
    if kind != 1 or rng.random() < 0.4:
        parts.append(
            _part(rng, lay, "umbrella", x + rng.uniform(-0.2, 0.2) * bw, y - 3 * s, y - 4 * s)
        )
    if kind in (0, 1):  # goods on top of the table or cart, drawn in front of it
        top = base.box[1] + (base.box[3] - base.box[1]) * (0.15 if kind == 0 else 0.55)
        for k in range(rng.randint(1, 2)):
            gx = base.box[0] + bw * (0.3 + 0.4 * k) + rng.uniform(-4, 4) * s
            parts.append(_part(rng, lay, "goods", gx, top, y + 1 + k))
    side = rng.choice([-1, 1])
    parts.append(
        _part(rng, lay, "person", x + side * bw * rng.uniform(0.3, 0.6), y - rng.uniform(0, 6) * s)
    )
    for k in range(rng.randint(0 if kind == 1 else 1, 3)):
        cx = x + (-side if k % 2 == 0 else side) * bw * rng.uniform(0.55, 0.9)
        parts.append(_part(rng, lay, "chair", cx, y + rng.uniform(-2, 8) * s))
    if kind == 2 and rng.random() < 0.6:
        parts.append(_part(rng, lay, "goods", x + side * -bw * 0.9, y + rng.uniform(0, 6) * s))
    return parts


def spill_over(rng: random.Random, lay: Layout, y: float) -> list[Placed]:
    """A shop's goods put out on the pavement: a row of one to three piles, larger than the
    piles on a stall, standing on ground row `y` near the shop fronts."""
    x = rng.uniform(0.05, 0.95) * lay.width
    parts: list[Placed] = []
    for _ in range(rng.randint(1, 3)):
        box = lay.box("goods", x, y + rng.uniform(-1.5, 1.5), rng.uniform(1.2, 2.0))
        parts.append(Placed("goods", box, Style.random(rng), box[3]))
        x += (box[2] - box[0]) * rng.uniform(1.05, 1.6)
    return parts


def roaming_cart(rng: random.Random, lay: Layout, y: float) -> list[Placed]:
    """A vendor pushing a cart (with or without goods on it) along the sidewalk or the curb."""
    cart = _part(rng, lay, "cart", rng.uniform(0.05, 0.95) * lay.width, y)
    parts = [cart]
    if rng.random() < 0.6:
        top = cart.box[1] + (cart.box[3] - cart.box[1]) * 0.55
        parts.append(_part(rng, lay, "goods", (cart.box[0] + cart.box[2]) / 2, top, y + 1))
    side = -1 if cart.style.flip else 1
    vendor_x = cart.box[0] if side > 0 else cart.box[2]
    parts.append(_part(rng, lay, "person", vendor_x, y - rng.uniform(0, 3) * lay.scale(y)))
    return parts


def cafe_set(rng: random.Random, lay: Layout, y: float) -> list[Placed]:
    """A table with chairs put out on the sidewalk (a cafe spilling onto the pavement)."""
    s = lay.scale(y)
    table = _part(rng, lay, "table", rng.uniform(0.05, 0.95) * lay.width, y)
    tw = table.box[2] - table.box[0]
    parts = [table]
    for side in rng.sample([-1, 1], rng.randint(1, 2)):
        cx = (table.box[0] + table.box[2]) / 2 + side * tw * rng.uniform(0.55, 0.8)
        parts.append(_part(rng, lay, "chair", cx, y + rng.uniform(-2, 6) * s))
    return parts


def _street_furniture(rng: random.Random, lay: Layout, side_top: float) -> list[Placed]:
    """Spill-over goods, roaming carts and cafe sets, so the stall classes are not rare."""
    objs: list[Placed] = []
    near_shops = lay.facade + 0.2 * (side_top - lay.facade)
    for _ in range(rng.choice([0, 1, 1, 2])):
        objs.extend(spill_over(rng, lay, rng.uniform(near_shops, lay.curb - 2)))
    if rng.random() < 0.4:
        objs.extend(roaming_cart(rng, lay, rng.uniform(side_top, lay.curb + 4)))
    if rng.random() < 0.3:
        objs.extend(cafe_set(rng, lay, rng.uniform(side_top, lay.curb - 2)))
    return objs


def _vehicle(rng: random.Random, lay: Layout, y: float, night: bool) -> Placed:
    name = rng.choices(["car", "motorcycle", "truck"], [0.5, 0.3, 0.2])[0]
    obj = _part(rng, lay, name, rng.uniform(-0.1, 1.1) * lay.width, y)
    obj.style.lights_on = night
    return obj


def sample_objects(rng: random.Random, lay: Layout, night: bool) -> list[Placed]:
    """Traffic, curb parking, stalls, pedestrians and sidewalk motorbikes for one picture."""
    objs: list[Placed] = []
    car_h = lay.size("car", lay.curb)[1]
    for _ in range(rng.randint(0, 5)):  # moving traffic
        objs.append(
            _vehicle(rng, lay, rng.uniform(lay.curb + car_h, lay.road_end + 0.3 * car_h), night)
        )
    for _ in range(rng.randint(0, 3)):  # parked at the curb
        objs.append(_vehicle(rng, lay, lay.curb + car_h * rng.uniform(1.0, 1.4), night))
    side_top = lay.facade + 0.35 * (lay.curb - lay.facade)
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
        x, y = rng.uniform(0.05, 0.95) * lay.width, rng.uniform(side_top, lay.curb - 2)
        objs.extend(stall_parts(rng, lay, x, y, rng.randint(0, 2)))
    objs.extend(_street_furniture(rng, lay, side_top))
    for _ in range(rng.randint(0, 6)):  # pedestrians, mostly on the sidewalk
        y = (
            rng.uniform(side_top, lay.curb)
            if rng.random() < 0.75
            else rng.uniform(lay.curb, lay.height)
        )
        person = _part(rng, lay, "person", rng.uniform(0, 1) * lay.width, y)
        person.style.variant = rng.choice([0, 1, 1, 2])
        objs.append(person)
    for _ in range(rng.randint(0, 2)):  # motorbikes parked on the sidewalk
        objs.append(
            _part(
                rng,
                lay,
                "motorcycle",
                rng.uniform(0, 1) * lay.width,
                rng.uniform(side_top, lay.curb),
            )
        )
    return objs


def _roi(box: Box, w: int, h: int) -> tuple[int, int, int, int]:
    x1, y1 = max(int(box[0]) - 2, 0), max(int(box[1]) - 2, 0)
    return x1, y1, min(int(box[2]) + 3, w), min(int(box[3]) + 3, h)


def draw_objects(
    img: Image, ids: IdMap | None, objs: list[Placed]
) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Paint back to front; returns each object's unoccluded pixel count and the light sources."""
    h, w = img.shape[:2]
    areas: list[int] = []
    lights: list[tuple[int, int, int]] = []
    for k, obj in enumerate(objs, start=1):
        lights += draw_sprite(img, ids, obj.class_name, obj.box, obj.style, k)
        if ids is not None:
            x1, y1, x2, y2 = _roi(obj.box, w, h)
            areas.append(
                int(np.count_nonzero(ids[y1:y2, x1:x2] == k)) if x2 > x1 and y2 > y1 else 0
            )
    return areas, lights


def visible_labels(
    ids: IdMap, objs: list[Placed], areas: list[int], min_px: float
) -> list[tuple[int, Box]]:
    """(class id, visible xyxy) for objects that are large enough and mostly unoccluded."""
    h, w = ids.shape
    out: list[tuple[int, Box]] = []
    for k, (obj, own) in enumerate(zip(objs, areas, strict=True), start=1):
        x1, y1, x2, y2 = _roi(obj.box, w, h)
        if own == 0 or x2 <= x1 or y2 <= y1:
            continue
        ys, xs = np.nonzero(ids[y1:y2, x1:x2] == k)
        if len(xs) < 0.45 * own:
            continue
        vis = (x1 + xs.min(), y1 + ys.min(), x1 + xs.max() + 1.0, y1 + ys.max() + 1.0)
        full = (obj.box[2] - obj.box[0]) * (obj.box[3] - obj.box[1])
        vw, vh = vis[2] - vis[0], vis[3] - vis[1]
        if min(vw, vh) < min_px or vw * vh < 0.3 * full:
            continue
        out.append(
            (CLASS_ID[obj.class_name], (float(vis[0]), float(vis[1]), float(vis[2]), float(vis[3])))
        )
    return out


def make_sample(seed: int, min_px: float = 8.0) -> tuple[Image, list[tuple[int, Box]]]:
    """One synthetic picture and its labels (class id, pixel xyxy), fully fixed by `seed`."""
    rng = random.Random(seed)
    width, height = rng.choice(SIZES)
    lay = Layout.random(rng, width, height)
    look = Look.random(rng)
    img = draw_background(lay, rng)
    objs = sorted(sample_objects(rng, lay, look.light != "day"), key=lambda o: o.z)
    ids = np.zeros((height, width), np.uint16)
    areas, lights = draw_objects(img, ids, objs)
    labels = visible_labels(ids, objs, areas, min_px * width / 640)
    img = degrade(apply_light(img, look, lights), look, np.random.default_rng(seed))
    return img, labels


def _yolo_lines(labels: list[tuple[int, Box]], w: int, h: int) -> str:
    rows = []
    for cls, (x1, y1, x2, y2) in labels:
        cx, cy = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h
        rows.append(f"{cls} {cx:.6f} {cy:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}")
    return "\n".join(rows) + ("\n" if rows else "")


def _write_split(out: Path, split: str, seeds: range, min_px: float) -> int:
    images, labels = out / "images" / split, out / "labels" / split
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    boxes = 0
    for seed in seeds:
        img, labs = make_sample(seed, min_px)
        cv2.imwrite(str(images / f"{seed}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        (labels / f"{seed}.txt").write_text(_yolo_lines(labs, img.shape[1], img.shape[0]))
        boxes += len(labs)
    return boxes


def write_dataset(out_dir: Path, n_train: int, n_val: int, imgsz: int = 320, seed: int = 1) -> Path:
    """Write a YOLO dataset (images/, labels/, data.yaml) and return the data.yaml path.

    Objects whose visible box is under ~6 network pixels at `imgsz` are left unlabelled.
    Picture seeds: train `seed*1e6 + i`, validation `seed*1e6 + 5e5 + i`.
    """
    out = Path(out_dir)
    min_px = 6.0 * 640 / imgsz
    base = seed * SEED_STRIDE
    n_tr = _write_split(out, "train", range(base, base + n_train), min_px)
    n_va = _write_split(out, "val", range(base + VAL_OFFSET, base + VAL_OFFSET + n_val), min_px)
    logger.info(
        "wrote %d train pictures (%d boxes), %d val (%d boxes) to %s",
        n_train,
        n_tr,
        n_val,
        n_va,
        out,
    )
    data = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(CLASSES)),
    }
    path = out / "data.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
