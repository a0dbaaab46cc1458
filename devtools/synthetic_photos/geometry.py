"""Plane geometry for placing a flat book layer in the photo: quads and homographies."""

from __future__ import annotations

import math

import numpy as np

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]  # top-left, top-right, bottom-right, bottom-left


def homography(source: Quad, target: Quad) -> np.ndarray:
    """The 3x3 matrix H with H @ (x, y, 1) ~ target point for each source point."""
    rows: list[list[float]] = []
    values: list[float] = []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y])
        rows.append([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y])
        values.extend((u, v))
    solution = np.linalg.solve(np.array(rows), np.array(values))
    return np.append(solution, 1.0).reshape(3, 3)


def pillow_coefficients(layer_size: tuple[int, int], placed: Quad) -> tuple[float, ...]:
    """Coefficients for `Image.transform(..., PERSPECTIVE)`: they map output pixels back to
    the layer, so the layer's corners land on `placed`."""
    width, height = layer_size
    corners: Quad = ((0.0, 0.0), (width, 0.0), (width, height), (0.0, height))
    matrix = homography(placed, corners)
    return tuple(float(value) for value in matrix.flatten()[:8])


def project(matrix: np.ndarray, points: list[Point]) -> list[Point]:
    projected = []
    for x, y in points:
        u, v, w = matrix @ np.array([x, y, 1.0])
        projected.append((float(u / w), float(v / w)))
    return projected


def place_quad(
    *,
    layer_size: tuple[int, int],
    centre: Point,
    long_side: float,
    rotation_degrees: float,
    keystone: float,
    keystone_edge: int,
) -> Quad:
    """The layer's corners in the photo: scaled so its longer side is `long_side` pixels,
    rotated about `centre`, then foreshortened. `keystone` (0 = flat, 0.2 = strong) shrinks one
    edge (0 top, 1 right, 2 bottom, 3 left) as if that edge were further from the camera."""
    width, height = layer_size
    scale = long_side / max(width, height)
    half_w, half_h = width * scale / 2, height * scale / 2
    corners = [[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]]
    far_corners = [(0, 1), (1, 2), (2, 3), (3, 0)][keystone_edge % 4]
    along, across = (0, 1) if keystone_edge % 2 == 0 else (1, 0)
    for index in far_corners:
        corners[index][along] *= 1.0 - keystone  # the far edge looks shorter...
        corners[index][across] *= 1.0 - keystone / 2  # ...and the far half looks shallower
    angle = math.radians(rotation_degrees)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    placed = [
        (centre[0] + x * cos_a - y * sin_a, centre[1] + x * sin_a + y * cos_a) for x, y in corners
    ]
    return (placed[0], placed[1], placed[2], placed[3])
