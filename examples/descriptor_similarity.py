"""Which prototypes does a damaged fcc crystal resemble? ARISE descriptors and cosine similarity.

Removes 20 % of the atoms of an fcc cluster, displaces the rest by up to 2 % of d_NN, and ranks
the 108 prototypes by the cosine similarity of their ARISE descriptors (r_cut 4 d_NN, sigma
0.1 d_NN) to it. fcc, In (tetragonally distorted fcc) and L1_2 come out within 0.01 of each other:
similarity in descriptor space alone does not decide, which is why ARISE trains a classifier on
top of the descriptor. Saves a bar chart.

    python examples/descriptor_similarity.py [--output similarity.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from ase.build import bulk  # noqa: E402

from ase_arise import ARISEDescriptor, load_prototypes, nearest_neighbor_distance  # noqa: E402


def main(output):
    rng = np.random.default_rng(0)
    sample = bulk("Al", "fcc", a=4.05, cubic=True).repeat(5)
    sample.pbc = False
    del sample[rng.choice(len(sample), size=len(sample) // 5, replace=False)]
    dnn = nearest_neighbor_distance(sample)
    sample.positions += rng.uniform(-0.02 * dnn, 0.02 * dnn, sample.positions.shape)

    calculator = ARISEDescriptor()
    prototypes = load_prototypes()
    references = calculator.create([p.supercells()[-1] for p in prototypes], progress=True)
    vector = calculator.create(sample)
    similarity = references @ vector / (np.linalg.norm(references, axis=1) * np.linalg.norm(vector))
    ranking = np.argsort(similarity)[::-1]

    print(f"Al fcc cluster, {len(sample)} atoms (20 % removed, 2 % displacement), d_NN = {dnn:.3f} Å")
    print("most similar prototypes (cosine similarity of ARISE descriptors):")
    for k in ranking[:5]:
        print(f"  {prototypes[k].name:24s} {similarity[k]:.4f}")

    top = ranking[:10]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.barh([prototypes[k].name for k in top][::-1], similarity[top][::-1], color="tab:blue")
    ax.set_xlabel("cosine similarity to the damaged fcc cluster")
    ax.set_xlim(similarity[top].min() - 0.02, 1.0)
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    print(f"saved {output}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="similarity.png", help="PNG file to write")
    main(parser.parse_args().output)
