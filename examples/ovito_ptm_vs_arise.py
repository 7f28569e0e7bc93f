"""PTM and ARISE side by side in one OVITO pipeline, rendered to PNG.

The paper's four-grain polycrystal (fcc, bcc, hcp and diamond grains, 9,087 atoms) goes through
OVITO's polyhedral template matching (every structure type on) and the "ARISE classification"
modifier in the same pipeline; both "Structure Type" and "ARISE Structure Type" stay on the
particles. The script prints both methods' counts per structure and renders the sample twice
from above, coloured by PTM and by ARISE (OVITO's colours for the structures both know), with
the ``--remove`` fraction of the atoms deleted at random first (0.2 shows ARISE's robustness to
missing atoms, where PTM falls to "Other"). Rendering needs a Vulkan driver
(``apt-get install -y libvulkan1 mesa-vulkan-drivers``).

    python examples/ovito_ptm_vs_arise.py [--remove 0.2] [--output ptm_vs_arise.png]
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from ovito.io import import_file  # noqa: E402
from ovito.modifiers import PolyhedralTemplateMatchingModifier  # noqa: E402
from ovito.vis import TachyonRenderer, Viewport  # noqa: E402

from ase_arise.build import four_grains_path  # noqa: E402
from ovito_arise import ARISEModifier  # noqa: E402


def counts(property_):
    """Particles per named type of a typed OVITO property, most frequent first."""
    ids, n = np.unique(np.asarray(property_), return_counts=True)
    names = {t.id: t.name for t in property_.types}
    return sorted(((names[i], int(c)) for i, c in zip(ids, n)), key=lambda item: -item[1])


def render(pipeline, path, size):
    """Top view of the pipeline's output, written to ``path``."""
    viewport = Viewport(type=Viewport.Type.Ortho, camera_dir=(0, 0, -1))
    viewport.zoom_all(size=size)
    viewport.render_image(size=size, filename=str(path), renderer=TachyonRenderer(),
                          background=(1, 1, 1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--remove", type=float, default=0.0,
                        help="fraction of atoms deleted at random before both methods (0-1)")
    parser.add_argument("--stride", type=float, default=4.0, help="ARISE box step (Å)")
    parser.add_argument("--output", default="ptm_vs_arise.png", help="PNG to write")
    parser.add_argument("--size", type=int, default=500, help="edge of each rendering (px)")
    args = parser.parse_args(argv)

    pipeline = import_file(str(four_grains_path()))  # the paper's sample
    if args.remove > 0:
        def remove_atoms(frame, data):
            """Delete the --remove fraction of the particles at random (seed 0)."""
            chosen = np.random.default_rng(0).random(data.particles.count) < args.remove
            data.particles_.delete_elements(chosen)

        pipeline.modifiers.append(remove_atoms)
    ptm = PolyhedralTemplateMatchingModifier()
    for structure in ptm.structures:
        structure.enabled = True
    arise = ARISEModifier(stride=args.stride, color_by_type=False)
    pipeline.modifiers.append(ptm)
    pipeline.modifiers.append(arise)
    pipeline.add_to_scene()

    data = pipeline.compute()
    print(f"{data.particles.count} atoms ({args.remove:.0%} removed), "
          f"ARISE in {data.attributes['ARISE.mode']} mode, model {data.attributes['ARISE.model']}")
    for title, name in (("PTM", "Structure Type"), ("ARISE", "ARISE Structure Type")):
        top = ", ".join(f"{label} {n / data.particles.count:.1%}"
                        for label, n in counts(data.particles[name])[:5])
        print(f"{title:6s} {top}")
    print(f"ARISE mean uncertainty {data.attributes['ARISE.mean_uncertainty']:.3f} bit")

    output = Path(args.output)
    images = []
    for title, colour_by_arise in (("PTM (all structure types)", False), ("ARISE", True)):
        arise.color_by_type = colour_by_arise  # a display option: ARISE is not rerun
        path = output.with_name(f"{output.stem}_{'arise' if colour_by_arise else 'ptm'}.png")
        render(pipeline, path, (args.size, args.size))
        images.append((title, plt.imread(path)))
        path.unlink()
    colours = {t.name: t.color for t in data.particles["ARISE Structure Type"].types}
    shown = [name for name, n in counts(data.particles["ARISE Structure Type"])
             if n > 0.01 * data.particles.count]
    figure, axes = plt.subplots(1, 2, figsize=(11, 6))
    for ax, (title, image) in zip(axes, images):
        ax.imshow(image)
        ax.set_title(title)
        ax.axis("off")
    figure.legend(handles=[Patch(color=colours[name], label=name) for name in shown],
                  loc="lower center", ncol=len(shown), frameon=False)
    figure.suptitle(f"Four-grain polycrystal, {args.remove:.0%} of the atoms removed")
    figure.savefig(output, dpi=100)
    print(f"saved {output}")


if __name__ == "__main__":
    main()
