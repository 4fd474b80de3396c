"""A physical (thin) lens as K of the circle-of-confusion law.

For a lens of focal length f and f-number N (aperture diameter f/N) focused
at distance S, a point at distance z images to a blur disc of diameter

    c = (f^2 / N) * |z - S| / (z * (S - f))         (on the sensor)

and since |z - S| / z = S * |1/S - 1/z| = S * |d_f - d| with d = 1/z, the
radius in pixels is the architecture's law r_px = K * |d - d_f| with

    K = (W_px / W_sensor) * f^2 * S / (2 N (S - f)).

Units: f and W_sensor in millimetres, S and z (so d) in scene units; f is
converted to scene units inside (S - f), and K carries 1/mm -> 1/scene-unit,
so that K * |d - d_f| comes out in pixels. W_px is the width in pixels that
the filmback spans (the plate's display window).
"""

from __future__ import annotations

import math


def lens_k(
    *,
    focal_length_mm: float,
    f_stop: float,
    focus_distance: float,
    filmback_width_mm: float,
    width_px: float,
    scene_unit_mm: float = 1000.0,
) -> float:
    """K in pixels per unit of disparity (1/scene unit) for a thin lens.

    ``focus_distance`` is S in scene units; ``math.inf`` focuses at infinity
    (S / (S - f) -> 1). Raises ValueError when S is not beyond the focal length
    (the lens cannot focus there).
    """
    for name, value in (("focal_length_mm", focal_length_mm), ("f_stop", f_stop),
                        ("filmback_width_mm", filmback_width_mm), ("width_px", width_px),
                        ("scene_unit_mm", scene_unit_mm)):
        if not value > 0 or math.isinf(value):
            raise ValueError(f"{name} {value:g} must be a positive finite number")
    f_scene = focal_length_mm / scene_unit_mm
    if math.isinf(focus_distance):
        magnification = 1.0
    else:
        if not focus_distance > f_scene:
            raise ValueError(
                f"focus distance {focus_distance:g} scene units is not beyond the focal length "
                f"({f_scene:g} scene units = {focal_length_mm:g} mm)"
            )
        magnification = focus_distance / (focus_distance - f_scene)
    px_per_mm = width_px / filmback_width_mm
    radius_mm_per_disparity = focal_length_mm**2 * magnification / (2.0 * f_stop) / scene_unit_mm
    return px_per_mm * radius_mm_per_disparity


def coc_radius_px(
    distance: float,
    *,
    focal_length_mm: float,
    f_stop: float,
    focus_distance: float,
    filmback_width_mm: float,
    width_px: float,
    scene_unit_mm: float = 1000.0,
) -> float:
    """Blur radius in pixels of a point at ``distance`` (scene units), from image distances.

    Independent of :func:`lens_k`: it places the sensor where the focus
    distance images and measures the cone of light from ``distance`` there.
    Used to check K and to explain it.
    """
    f = focal_length_mm
    z_mm = distance * scene_unit_mm
    s_mm = focus_distance * scene_unit_mm
    sensor = f * s_mm / (s_mm - f) if math.isfinite(s_mm) else f
    image = f * z_mm / (z_mm - f) if math.isfinite(z_mm) else f
    aperture = f / f_stop
    diameter_mm = aperture * abs(image - sensor) / image
    return diameter_mm / 2.0 * width_px / filmback_width_mm
