"""Blender's compositor Defocus node as a peer of the physical engine (runs INSIDE Blender's Python).

    <python with bpy> bench/peer_blender.py --image IN.exr --radius R.exr --blur-max PX \
        [--repeat N] [--output OUT.exr]

Not part of focuspull (no focuspull import): ``bench/bench_physical.py`` runs it
with the interpreter of a separate environment that has ``bpy`` from PyPI
(Blender as a module; its wheels need Python 3.11). ``IN.exr`` is the
scene-linear RGB plate; ``R.exr`` holds the CoC radius in pixels (first
channel), from the same law the engine uses. The node runs with "Use Z-Buffer"
off, so it reads that map as the blur radius (times ``z_scale`` = 1, clamped
to ``blur_max``), a circular bokeh, no gamma correction.

Prints one JSON line: ``{"render_s": [...], "blender": "..."}``, the wall time
of each compositor execution (the first one also loads the inputs).
"""

from __future__ import annotations

import argparse
import json
import time

import bpy


def build(image_path: str, radius_path: str, blur_max: float) -> None:
    scene = bpy.context.scene
    # nothing to render but the compositor: no objects, the cheapest engine
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    scene.render.engine = "BLENDER_WORKBENCH"
    image = bpy.data.images.load(image_path)
    radius = bpy.data.images.load(radius_path)
    for img in (image, radius):
        img.colorspace_settings.name = "Non-Color"  # scene-linear values as they are
    width, height = image.size
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.view_settings.view_transform = "Standard"
    scene.display_settings.display_device = "sRGB"
    tree = bpy.data.node_groups.new("focuspull_peer", "CompositorNodeTree")
    scene.compositing_node_group = tree
    source = tree.nodes.new("CompositorNodeImage")
    source.image = image
    radius_node = tree.nodes.new("CompositorNodeImage")
    radius_node.image = radius
    defocus = tree.nodes.new("CompositorNodeDefocus")
    defocus.bokeh = "CIRCLE"
    defocus.use_zbuffer = False  # the Z input is the radius in pixels
    defocus.z_scale = 1.0
    defocus.blur_max = float(blur_max)
    output = tree.nodes.new("NodeGroupOutput")
    tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    tree.links.new(source.outputs["Image"], defocus.inputs["Image"])
    tree.links.new(radius_node.outputs["Image"], defocus.inputs["Z"])
    tree.links.new(defocus.outputs["Image"], output.inputs[0])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", required=True)
    parser.add_argument("--radius", required=True)
    parser.add_argument("--blur-max", type=float, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", default="")
    args = parser.parse_args()
    build(args.image, args.radius, args.blur_max)
    scene = bpy.context.scene
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        bpy.ops.render.render(write_still=False)
        times.append(time.perf_counter() - start)
    if args.output:
        bpy.data.images["Render Result"].save_render(args.output)
    print(json.dumps({"render_s": times, "blender": bpy.app.version_string, "scene": scene.name}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
