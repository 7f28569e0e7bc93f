"""Convert the ARISE paper's 108 prototype geometry files into ``prototypes.json``.

Usage::

    python tests/data/make_prototypes.py [SOURCE] [--output PATH]

``SOURCE`` is the folder holding ``class_index.json`` and the six category folders
(``Elemental_solids``, ``Binaries``, ``Ternaries``, ``Quaternaries``, ``2D_materials``,
``Nanotubes``) of FHI-aims geometry files deposited with the paper; the default is
``../shared/prototypes`` relative to the current directory.  ``--output`` defaults to the
``prototypes.json`` next to this script, i.e. the file that ``ase_arise.prototypes`` loads.

The output is deterministic: the numbers of each geometry file are parsed as exact decimals,
fractional coordinates of Cartesian (``atom``) files are obtained by exact rational
arithmetic and rounded once to the nearest float, so the same input gives the same bytes on
every platform.  Nanotubes are not stored as coordinates but as the arguments of
:func:`ase.build.nanotube`; the script checks that the rebuilt tube reproduces the file.

Credits and licence of the data: see ``LICENCE_NOTE`` below (CC BY 4.0).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
from ase.build import nanotube

FORMAT_VERSION = 1
N_CLASSES = 108
NANOTUBE_BOND = 1.42  # C-C bond length (Å) of ase.build.nanotube, as used for the paper's tubes
NANOTUBE_TOL = 1e-10  # Å, rebuilt tube vs file

LICENCE_NOTE = (
    "Geometries converted from the prototype files deposited with A. Leitherer, A. Ziletti, "
    "L. M. Ghiringhelli, 'Robust recognition and exploratory analysis of crystal structures via "
    "Bayesian deep learning', Nature Communications 12, 6234 (2021), licensed under Creative Commons "
    "Attribution 4.0 (CC BY 4.0). Elemental solids and binaries come from the AFLOW library of "
    "crystallographic prototypes (Mehl et al., Comput. Mater. Sci. 136, S1 (2017); Hicks et al., "
    "Comput. Mater. Sci. 161, S1 (2019)); ternary, quaternary and 2D materials from the "
    "Computational Materials Repository (CMR) and the Computational 2D Materials Database "
    "(C2DB); carbon nanotubes are generated with ase.build.nanotube."
)

# folder -> (material_type, source)
CATEGORIES = {
    "Elemental_solids": ("elemental", "AFLOW"),
    "Binaries": ("binary", "AFLOW"),
    "Ternaries": ("ternary", "CMR"),
    "Quaternaries": ("quaternary", "CMR"),
    "2D_materials": ("2D", "CMR"),
    "Nanotubes": ("nanotube", "ASE"),
}

# key -> (display name, name in the paper's Supplementary Tables 4-8, symmetry column there).
# Nanotubes are handled by _nanotube_names.  A leading integer of the symmetry column is the
# space group number the paper gives.
NAMES = {
    # Elemental solids (Supplementary Table 4, AFLOW)
    "bcc_W_A_cI2_229_a": ("bcc", "bcc (W)", "229, cubic"),
    "diam_C_A_cF8_227_a": ("diamond", "diamond (C)", "227, cubic"),
    "fcc_Cu_A_cF4_225_a": ("fcc", "fcc (Cu)", "225, cubic"),
    "sc_alphaPo_A_cP1_221_a": ("sc (α-Po)", "α-Po", "221, (simple) cubic"),
    "hcp_Mg_A_hP2_194_c": ("hcp", "hcp (Mn)", "194, hexagonal"),
    "dhcp_alphaLa_A_hP4_194_ac": ("dhcp (α-La)", "α-La (dhcp)", "194, hexagonal"),
    "HexDiam_C_A_hP4_194_f": ("hexagonal diamond", "Hexagonal diamond", "194, hexagonal"),
    "HexGraph_C_A_hP4_194_bc": ("hexagonal graphite", "Hexagonal graphite", "194, hexagonal"),
    "shex_Sn_A_hP1_191_a": ("simple hexagonal (Sn)", "Sn", "191, (simple) hexagonal"),
    "BuckledGraphHex_C_A_hP4_186_ab": ("buckled graphite", "Buckled graphite", "186, hexagonal"),
    "rhombAlphaAs_As_A_hR2_166_c": ("α-As", "α-As", "166, rhombohedral"),
    "rhombAlphaHg_Hg_A_hR1_166_a": ("α-Hg", "α-Hg", "166, rhombohedral"),
    "rhombAlphaSm_Sm_A_hR3_166_ac": ("α-Sm", "α-Sm", "166, rhombohedral"),
    "rhombBetaO_O_A_hR2_166_c": ("β-O", "β-O", "166, rhombohedral"),
    "rhombBetaPo_Po_A_hR1_166_a": ("β-Po", "β-Po", "166, rhombohedral"),
    "trihex_gammaSe_A_hP3_152_a": ("γ-Se", "γ-Se", "152, trigonal hexagonal"),
    "rhombGraph_C_A_hR2_166_c": (
        "rhombohedral graphite", "Rhombohedral graphite", "166, rhombohedral"),
    "bctAlphaPa_Pa_A_tI2_139_a": ("α-Pa", "α-Pa", "139, (body-centered) tetragonal"),
    "bctBetaSn_Sn_A_tI4_141_a": ("β-Sn", "β-Sn", "141, (body-centered) tetragonal"),
    "bctIn_In_A_tI2_139_a": ("In", "In", "139, (body-centered) tetragonal"),
    "stetGammaN_N_A_tP4_136_f": ("γ-N", "γ-N", "136, (simple) tetragonal"),
    "stetBetaNp_Np_A_tP4_129_ac": ("β-Np", "β-Np", "129, (simple) tetragonal"),
    "facecorthGammaPu_Pu_A_oF8_70_a": ("γ-Pu", "γ-Pu", "70, (face-centered) orthorhombic"),
    "basecorthAlphaGa_Ga_A_oC8_64_f": ("α-Ga", "α-Ga", "64, (base-centered) orthorhombic"),
    "basecorthBlackP_P_A_oC8_64_f": (
        "black phosphorus", "Black phosphorus", "64, (base-centered) orthorhombic"),
    "basecorthMolIod_I_A_oC8_64_f": (
        "molecular iodine", "Molecular iodine", "64, (base-centered) orthorhombic"),
    "basecorthAlphaU_U_A_oC4_63_c": ("α-U", "α-U", "63, (base-centered) orthorhombic"),
    # Binaries (Supplementary Table 5, AFLOW)
    "RockSalt_NaCl": ("NaCl", "NaCl", "225, cubic"),
    "CsCl": ("CsCl", "CsCl", "221, cubic"),
    "L12_Cu3Au": ("L1_2 (Cu3Au)", "L12 (Cu3Au)", "221 (simple) cubic"),
    "Zincblende_ZnS": ("zinc blende", "Zinc blende (ZnS)", "216, (face-centered) cubic"),
    "FeSi": ("FeSi", "FeSi", "198 (simple) cubic"),
    "NiAs": ("NiAs", "NiAs", "194, hexagonal"),
    "Wurtzite_ZnS": ("wurtzite", "Wurtzite (ZnS)", "186, hexagonal"),
    "L10_CuAu": ("L1_0 (CuAu)", "L10 (CuAu)", "123, (simple) tetragonal"),
    "CrB": ("CrB", "CrB", "63, (base-centered) orthorhombic"),
    "MnP": ("MnP", "MnP", "62, (simple) orthorhombic"),
    "FeB": ("FeB", "FeB", "62, (simple) orthorhombic"),
    # Ternaries (Supplementary Table 5, CMR; no space group given)
    "3_cubic": ("AgNbO3", "AgNbO3", "cubic"),
    "3_halides_cubic": ("CsSnI3", "CsSnI3", "cubic"),
    "3_halides_tetragonal": ("CsSnCl3 (tetragonal)", "CsSnCl3", "tetragonal"),
    "24_RP": ("Cs2WO4", "Cs2WO4", "tetragonal"),
    "327_RP": ("Ca3Ge2O7", "Ca3Ge2O7", "tetragonal"),
    "3_halides_orthorhombic": ("CsSnCl3 (orthorhombic)", "CsSnCl3", "orthorhombic"),
    # Quaternaries (Supplementary Table 5, CMR)
    "Cu2BaGeSe4": ("Cu2BaGeSe4", "Cu2BaGeSe4", "144 (trigonal)"),
    "Cu2CdSnS4": ("Cu2CdSnS4", "Cu2CdSnS4", "121 (tetragonal)"),
    "Cu2ZnSnS4": ("Cu2ZnSnS4", "Cu2ZnSnS4", "82 (tetragonal)"),
    "Cu2KVS4": ("Cu2KVS4", "Cu2KVS4", "40 (orthorhombic)"),
    "Cu2CdGeS4": ("Cu2CdGeS4", "Cu2CdGeS4", "31 (orthorhombic)"),
    "Cu2ZnSiS4": ("Cu2ZnSiS4", "Cu2ZnSiS4", "7 (monoclinic)"),
    # 2D materials (Supplementary Tables 6-8, CMR/C2DB)
    "C": ("graphene", "Graphene", "191 (hexagonal)"),
    "Ti3C2": ("Ti3C2", "Ti3C2", "187 (hexagonal)"),
    "Ti3C2O2": ("Ti3C2O2", "Ti3C2O2", "187 (hexagonal)"),
    "MoS2": ("MoS2", "MoS2", "187 (hexagonal)"),
    "Ti3C2H2O2": ("Ti3C2H2O2", "Ti3C2H2O2", "187 (hexagonal)"),
    "GaS": ("GaS", "GaS", "187 (hexagonal)"),
    "BN": ("BN", "BN", "187 (hexagonal)"),
    "Ti2CH2O2": ("Ti2CH2O2", "Ti2CH2O2", "164 (trigonal)"),
    "Ti2CO2": ("Ti2CO2", "Ti2CO2", "164 (trigonal)"),
    "CdI2": ("CdI2", "CdI2", "164 (trigonal)"),
    "CH": ("CH", "CH", "164 (trigonal)"),
    "CH2Si": ("CH2Si", "CH2Si", "156 (trigonal)"),
    "Ti4C3": ("Ti4C3", "Ti4C3", "156 (trigonal)"),
    "BiTeI": ("BiTeI", "BiTeI", "156 (trigonal)"),
    "Ti4C3O2": ("Ti4C3O2", "Ti4C3O2", "156 (trigonal)"),
    "GeSe": ("GeSe", "GeSe", "156 (trigonal)"),
    "MoSSe": ("MoSSe", "MoSSe", "156 (trigonal)"),
    "Ti4C3H2O2": ("Ti4C3H2O2", "Ti4C3H2O2", "156 (trigonal)"),
    "AgBr3": ("AgBr3", "AgBr3", "150 (trigonal)"),
    "TiCl3": ("TiCl3", "TiCl3", "150 (trigonal)"),
    "BiI3": ("BiI3", "BiI3", "147 (trigonal)"),
    "FeSe": ("FeSe", "FeSe", "129 (tetragonal)"),
    "PbSe": ("PbSe", "PbSe", "123 (tetragonal)"),
    "GeS2": ("GeS2", "GeS2", "115 (tetragonal)"),
    "C3N": ("C3N", "C3N", "65 (orthorhombic)"),
    "FeOCl": ("FeOCl", "FeOCl", "59 (orthorhombic)"),
    "P": ("P", "P", "28 (orthorhombic)"),
    "PdS2": ("PdS2", "PdS2", "14 (monoclinic)"),
    "MnS2": ("MnS2", "MnS2", "14 (monoclinic)"),
    "GaSe": ("GaSe", "GaSe", "12 (monoclinic)"),
    "TiS3": ("TiS3", "TiS3", "11 (monoclinic)"),
    "WTe2": ("WTe2", "WTe2", "11 (monoclinic)"),
    "HfBrS": ("HfBrS", "HfBrS", "7 (monoclinic)"),
    "RhO": ("RhO", "RhO", "6 (monoclinic)"),
    "SnS": ("SnS", "SnS", "6 (monoclinic)"),
    "NiSe": ("NiSe", "NiSe", "6 (monoclinic)"),
    "AuSe": ("AuSe", "AuSe", "6 (monoclinic)"),
    "VTe3": ("VTe3", "VTe3", "6 (monoclinic)"),
    "ReS2": ("ReS2", "ReS2", "2 (monoclinic)"),
    "ScPSe3": ("ScPSe3", "ScPSe3", "1 (triclinic)"),
    "PbA2I4": ("PbA2I4", "PbA2I4", "1 (triclinic)"),
    "PbS": ("PbS", "PbS", "1 (triclinic)"),
    "CrW3S8": ("CrW3S8", "CrW3S8", "1 (triclinic)"),
    "VPSe3": ("VPSe3", "VPSe3", "1 (triclinic)"),
    "CrWS4": ("CrWS4", "CrWS4", "1 (triclinic)"),
    "MnPSe3": ("MnPSe3", "MnPSe3", "1 (triclinic)"),
}

_AFLOW_HEADER = re.compile(r"^#\s*(?P<label>\S+)\s+params=(?P<params>\S+)\s+SG#?=(?P<sg>\d+)")
_NANOTUBE_KEY = re.compile(
    r"^(?P<kind>armchair|chiral|zigzag)_cnt_nm_(?P<n>\d+)_(?P<m>\d+)_(?P<angle>[\d.]+)_(?P<diam>[\d.]+)$")


def _nanotube_names(key):
    """Display name, paper name and paper symmetry column of a nanotube key."""
    match = _NANOTUBE_KEY.match(key)
    if match is None:
        raise ValueError(f"Nanotube folder {key!r} does not follow <kind>_cnt_nm_<n>_<m>_<angle>_<d>.")
    n, m = int(match["n"]), int(match["m"])
    symmetry = f"{match['kind']}, ({n},{m}), {match['angle']}°, {match['diam']} Å"
    return f"CNT ({n},{m})", "Carbon nanotube", symmetry, n, m


def parse_aims_geometry(text):
    """Parse an FHI-aims ``geometry.in`` text exactly.

    Parameters
    ----------
    text : str
        File content with ``lattice_vector``, ``atom`` (Cartesian, Å) and ``atom_frac`` lines.

    Returns
    -------
    cell : list of 3 lists of 3 Fraction, or None
        Lattice vectors in Å (rows), None without ``lattice_vector`` lines.
    symbols : list of str
    coordinates : list of lists of 3 Fraction
        Fractional coordinates (``atom_frac`` lines, or converted exactly from ``atom`` lines
        when a cell is given), or Cartesian positions in Å for a cluster without cell.
    """
    cell, symbols, cartesian, fractional = [], [], [], []
    for line in text.splitlines():
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        if tokens[0] == "lattice_vector":
            cell.append([Fraction(t) for t in tokens[1:4]])
        elif tokens[0] in ("atom", "atom_frac"):
            xyz = [Fraction(t) for t in tokens[1:4]]
            (fractional if tokens[0] == "atom_frac" else cartesian).append(xyz)
            symbols.append(tokens[4])
            if cartesian and fractional:
                raise ValueError("Mixed 'atom' and 'atom_frac' lines are not supported.")
    if not cell:
        if fractional:
            raise ValueError("'atom_frac' lines need lattice vectors.")
        return None, symbols, cartesian
    if len(cell) != 3:
        raise ValueError(f"Expected 3 lattice vectors, got {len(cell)}.")
    if fractional:
        return cell, symbols, fractional
    return cell, symbols, [_solve_fractional(cell, r) for r in cartesian]


def _solve_fractional(cell, position):
    """Exact s with ``s @ cell == position`` (Cramer's rule on rationals)."""
    def det(m):
        return (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))

    d = det(cell)
    if d == 0:
        raise ValueError("Singular cell.")
    result = []
    for i in range(3):
        m = [row[:] for row in cell]
        m[i] = list(position)
        result.append(det(m) / d)
    return result


def _floats(rows):
    return [[float(x) for x in row] for row in rows]


def _entry(class_id, key, path, root):
    """One library entry (a dict) for the prototype file ``path``."""
    category = path.parent.parent.name
    material_type, source = CATEGORIES[category]
    text = path.read_text(encoding="utf-8")
    cell, symbols, coordinates = parse_aims_geometry(text)
    provenance = {"file": path.relative_to(root).as_posix()}
    entry = {"class_id": class_id, "key": key, "material_type": material_type, "source": source}

    if material_type == "nanotube":
        name, paper_name, paper_symmetry, n, m = _nanotube_names(key)
        if cell is not None:
            raise ValueError(f"{path}: nanotube files are expected without a cell.")
        entry["nanotube"] = _nanotube_arguments(n, m, symbols, _floats(coordinates), path)
        entry["space_group"] = None
    else:
        name, paper_name, paper_symmetry = NAMES[key]
        if cell is None:
            raise ValueError(f"{path}: periodic prototypes need lattice vectors.")
        match = re.match(r"^(\d+)", paper_symmetry)
        paper_sg = int(match[1]) if match else None
        if source == "AFLOW":
            header = _AFLOW_HEADER.match(text.splitlines()[0])
            if header is None:
                raise ValueError(f"{path}: no AFLOW header (label params=... SG#=...).")
            provenance["aflow_label"] = header["label"]
            provenance["aflow_params"] = header["params"]
            space_group = int(header["sg"])
            if paper_sg is not None and paper_sg != space_group:
                raise ValueError(f"{path}: AFLOW SG {space_group} != paper's {paper_sg}.")
        else:
            space_group = paper_sg
        entry["space_group"] = space_group
        entry["cell"] = _floats(cell)
        entry["symbols"] = symbols
        entry["scaled_positions"] = _floats(coordinates)
        entry["pbc"] = [True, True, material_type != "2D"]
    provenance["paper_name"] = paper_name
    provenance["paper_symmetry"] = paper_symmetry
    entry["name"] = name
    entry["provenance"] = provenance
    return entry


def _nanotube_arguments(n, m, symbols, positions, path):
    """Find the ``length`` for which ``ase.build.nanotube(n, m, length)`` equals the file."""
    per_cell = len(nanotube(n, m, length=1, bond=NANOTUBE_BOND))
    length, rest = divmod(len(positions), per_cell)
    tube = nanotube(n, m, length=max(length, 1), bond=NANOTUBE_BOND)
    if (rest or len(tube) != len(positions) or list(tube.get_chemical_symbols()) != symbols
            or np.abs(tube.positions - np.asarray(positions)).max() > NANOTUBE_TOL):
        raise ValueError(f"{path}: not reproduced by ase.build.nanotube({n}, {m}, length={length}).")
    shorter = nanotube(n, m, length=length - 1, bond=NANOTUBE_BOND) if length > 1 else []
    if len(tube) < 100 or len(shorter) >= 100:
        raise ValueError(f"{path}: not the shortest tube with at least 100 atoms.")
    return {"n": n, "m": m, "length": length, "bond": NANOTUBE_BOND}


def build_library(source):
    """Read the 108 prototype files below ``source`` into the library dictionary.

    Parameters
    ----------
    source : str or path-like
        Folder with ``class_index.json`` and the category folders.

    Returns
    -------
    dict
        JSON-ready library with metadata and ``prototypes`` (list in class-id order).
    """
    root = Path(source)
    index = json.loads((root / "class_index.json").read_text(encoding="utf-8"))
    if sorted(index, key=int) != [str(i) for i in range(N_CLASSES)]:
        raise ValueError(f"{root / 'class_index.json'} must map 0..{N_CLASSES - 1} to folders.")
    prototypes = []
    for class_id in range(N_CLASSES):
        key = index[str(class_id)]
        files = sorted(root.glob(f"*/{key}/*.in"))
        if len(files) != 1:
            raise ValueError(f"Expected one geometry file for {key!r}, found {len(files)}.")
        prototypes.append(_entry(class_id, key, files[0], root))

    names = [p["name"] for p in prototypes]
    if len(set(names)) != N_CLASSES:
        raise ValueError("Display names are not unique.")
    by_key = {p["key"]: p["class_id"] for p in prototypes}
    for p in prototypes:  # a string must not be one prototype's key and another's name
        if by_key.get(p["name"], p["class_id"]) != p["class_id"]:
            raise ValueError(f"Name {p['name']!r} is the key of another prototype.")
    return {
        "format_version": FORMAT_VERSION,
        "description": (
            "The 108 structural classes of ARISE in output-neuron order, with their geometry "
            "(cell in Å, fractional coordinates) or, for carbon nanotubes, the arguments of "
            "ase.build.nanotube. Generated by python tests/data/make_prototypes.py."),
        "licence": "CC BY 4.0",
        "credits": LICENCE_NOTE,
        "n_classes": N_CLASSES,
        "prototypes": prototypes,
    }


def dumps(library):
    """Serialise the library deterministically (sorted keys, 2-space indent, rows inline)."""
    def encode(obj, level):
        pad, inner = "  " * level, "  " * (level + 1)
        if isinstance(obj, dict):
            if not obj:
                return "{}"
            items = [f"{inner}{json.dumps(k)}: {encode(obj[k], level + 1)}" for k in sorted(obj)]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(obj, list):
            if all(not isinstance(x, (dict, list)) for x in obj):
                return "[" + ", ".join(json.dumps(x, ensure_ascii=False) for x in obj) + "]"
            return "[\n" + ",\n".join(inner + encode(x, level + 1) for x in obj) + "\n" + pad + "]"
        return json.dumps(obj, ensure_ascii=False)

    return encode(library, 0) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python tests/data/make_prototypes.py", description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default="../shared/prototypes",
                        help="folder with class_index.json and the prototype files "
                             "(default: ../shared/prototypes)")
    parser.add_argument("--output", default=str(Path(__file__).with_name("prototypes.json")),
                        help="JSON file to write (default: the packaged prototypes.json)")
    args = parser.parse_args(argv)
    text = dumps(build_library(args.source))
    Path(args.output).write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({N_CLASSES} prototypes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
