"""The table of edge cases: hostile but fair input, and what arise must do with it.

Each row is (id, code, expected). ``code`` runs after :data:`PREAMBLE` in a fresh process
(tests/core/test_edge_cases.py: at most 10 s and 2 GB each), in an empty folder that holds
``fcc.xyz`` (the 108-atom ``fcc`` below) and ``model/`` (a copy of the shipped model that a row
may break). ``expected`` is one of

- ``("raises", name, pattern)``: an exception whose class (or a base class) is ``name`` and
  whose message matches the regular expression ``pattern``;
- ``("warns", name, pattern)``: returns, having warned with category ``name``;
- ``("returns", None, check)``: returns, and the expression ``check`` (on ``result``) is true;
- ``("cli", status, pattern)``: ``result = cli(...)`` ran the command line: exit ``status``,
  exactly one line on stderr, matching ``pattern``.
"""

PREAMBLE = """
import json, shutil, warnings
import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.cluster import Octahedron
from ase_arise import *
from ase_arise.cli import main as _main
fcc = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)

def cli(*argv):
    import contextlib, io
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = _main(list(argv))
    return status, err.getvalue()

def broken_model(change):
    meta = json.loads(open("model/arise-108.json").read())
    change(meta)
    open("model/arise-108.json", "w").write(json.dumps(meta))
    return "model/arise-108.onnx"
"""

CASES = [
    # --- 1. resources: every call answers, fast, in bounded memory ---------------------------
    ("spm-box-1e6", "spm(fcc, box=1e6)", ("raises", "InputError", "max_box_atoms|max_points")),
    ("spm-box-1000", "spm(fcc, box=1000.0)", ("raises", "InputError", "max_box_atoms|max_points")),
    ("label-box-1e6", "label(fcc, box=1e6)", ("raises", "InputError", "max_box_atoms|max_points")),
    ("cli-box-1e6", "result = cli('label', 'fcc.xyz', '-o', 'out.xyz', '--box', '1e6')",
     ("cli", 1, "max_box_atoms|max_points")),
    ("thin-cell-classify", "a = fcc.copy(); a.cell[2] = [0, 0, 1e-5]; classify(a)",
     ("raises", "InputError", "repeats every 1e-05 Å")),
    ("thin-cell-spm", "a = fcc.copy(); a.cell[2] = [0, 0, 1e-5]; spm(a)",
     ("raises", "InputError", "near-singular")),
    ("descriptor-r_cut-100", "descriptor(fcc, r_cut=100)", ("raises", "InputError", "'r_cut'")),
    ("descriptor-pairs",
     "with work_limits(max_pairs=1e5): descriptor(fcc.repeat(4), r_cut=10.0)",
     ("raises", "InputError", "max_pairs = 1e\\+05")),
    ("spm-stride-1e-3", "spm(fcc, stride=1e-3)", ("raises", "InputError", "max_boxes")),
    ("spm-one-atom-huge-cell", "spm(Atoms('Cu', cell=[1e6] * 3, pbc=True))",
     ("raises", "InputError", "max_boxes")),
    ("spm-dimer-huge-cell",
     "spm(Atoms('Cu2', positions=[[0, 0, 0], [2.5, 0, 0]], cell=[1000] * 3, pbc=True))",
     ("raises", "InputError", "larger than the sample")),
    ("classify-one-atom-huge-cell", "result = classify(Atoms('Cu', cell=[1e6] * 3, pbc=True))",
     ("returns", None, "result.name == 'sc (α-Po)'")),
    ("spm-50-species", "a = fcc.repeat(2); a.numbers = np.arange(len(a)) % 50 + 1; spm(a)",
     ("raises", "InputError", "max_species")),
    ("classify-n-samples-1e9", "classify(fcc, n_samples=10**9)",
     ("raises", "InputError", "'n_samples'.*<= 100000")),
    ("label-n-samples-1e9", "label(fcc, n_samples=10**9)", ("raises", "InputError", "'n_samples'")),
    ("polycrystal-1e5", "from ase_arise.build import polycrystal; polycrystal(1e5)",
     ("raises", "InputError", "max_points")),
    ("work-limits-raised", "with work_limits(max_boxes=10): spm(fcc, box=10.8, stride=3.6)",
     ("raises", "InputError", "max_boxes = 10")),
    # --- 2. the command line: one line on stderr, exit 1 -------------------------------------
    ("cli-seed-negative", "result = cli('classify', 'fcc.xyz', '--seed', '-1')",
     ("cli", 1, "'random_state'")),
    ("cli-random-state-negative", "result = cli('classify', 'fcc.xyz', '--random-state', '-1')",
     ("cli", 1, "'random_state'")),
    ("cli-n-samples-0", "result = cli('classify', 'fcc.xyz', '--n-samples', '0')",
     ("cli", 1, "'n_samples'")),
    ("cli-model-json-list",
     "open('model/arise-108.json', 'w').write('[1, 2]');"
     "result = cli('classify', 'fcc.xyz', '--model', 'model/arise-108.onnx')",
     ("cli", 1, "JSON list, not an object")),
    ("cli-model-missing-key",
     "m = broken_model(lambda d: (d.pop('classes'), d.pop('metadata_sha256')));"
     "result = cli('classify', 'fcc.xyz', '--model', m)", ("cli", 1, "'classes'")),
    ("cli-model-n-samples-0",
     "m = broken_model(lambda d: (d.update(n_samples_default=0), d.pop('metadata_sha256')));"
     "result = cli('classify', 'fcc.xyz', '--model', m)", ("cli", 1, "n_samples_default")),
    ("cli-model-edited", "m = broken_model(lambda d: d.update(n_samples_default=7));"
     "result = cli('classify', 'fcc.xyz', '--model', m)", ("cli", 1, "checksum")),
    ("cli-model-random-bytes",
     "import hashlib; data = np.random.default_rng(0).bytes(4096);"
     "open('model/arise-108.onnx', 'wb').write(data);"
     "m = broken_model(lambda d: (d.update(onnx_sha256=hashlib.sha256(data).hexdigest()),"
     " d.pop('metadata_sha256')));"
     "result = cli('classify', 'fcc.xyz', '--model', m)", ("cli", 1, "onnxruntime can")),
    ("model-dropout-1", "ARISEModel(broken_model(lambda d: (d['architecture'].update(dropout=1.0),"
     " d.pop('metadata_sha256'))))", ("raises", "ModelError", "dropout")),
    ("model-107-classes", "ARISEModel(broken_model(lambda d: (d['classes'].pop(),"
     " d['class_names'].pop(), d.pop('metadata_sha256'))))", ("raises", "ModelError", "108")),
    ("cli-axes-5", "result = cli('label', 'fcc.xyz', '-o', 'o.xyz', '--axes', '5')",
     ("cli", 1, "'axes'")),
    ("cli-model-is-a-folder", "result = cli('classify', 'fcc.xyz', '--model', 'model')",
     ("cli", 1, "does not exist|not a file")),
    ("cli-input-is-a-folder", "result = cli('classify', 'model')", ("cli", 1, "is not a file")),
    ("cli-unknown-prototype",
     "result = cli('spm', 'fcc.xyz', '-o', 'm.npz', '--prototypes', 'fcx')",
     ("cli", 1, "Unknown prototype")),
    # --- 3. files ---------------------------------------------------------------------------
    ("cli-output-is-input", "result = cli('label', 'fcc.xyz', '-o', 'fcc.xyz')",
     ("cli", 1, "is the input file")),
    ("cli-output-folder-missing", "result = cli('label', 'fcc.xyz', '-o', 'nowhere/out.xyz')",
     ("cli", 1, "does not exist")),
    ("cli-spm-index-out-of-range",
     "result = cli('spm', 'fcc.xyz', '-o', 'm.npz', '--box', '10', '--index', '99',"
     " '--no-progress');"
     "import os; assert not os.path.exists('m.npz')", ("cli", 1, "--index 99 is out of range")),
    # --- 4. boundary checks ----------------------------------------------------------------
    ("label-inplace-string", "label(fcc, inplace='no')", ("raises", "TypeError", "'inplace'")),
    ("label-probabilities-string", "label(fcc, probabilities='yes')",
     ("raises", "TypeError", "'probabilities'")),
    ("spm-progress-string", "spm(fcc, progress='yes')", ("raises", "TypeError", "'progress'")),
    ("calculator-box-negative", "ARISE(box=-1.0)", ("raises", "InputError", "'box'")),
    ("calculator-n-samples-0", "ARISE(n_samples=0)", ("raises", "InputError", "'n_samples'")),
    ("calculator-stride-string", "ARISE(stride='x')", ("raises", "TypeError", "'stride'")),
    ("spm-tolerance-negative", "spm(fcc, tolerance=-1)", ("raises", "InputError", "'tolerance'")),
    ("classify-missing-files", "classify(['a.xyz', 'b.xyz'])",
     ("raises", "FileNotFoundError", "a.xyz")),
    ("classify-none", "classify(None)", ("raises", "TypeError", "Atoms")),
    ("spm-axes-int", "spm(fcc, axes=0)", ("raises", "TypeError", "'axes'")),
    ("descriptor-n-max-100", "ARISEDescriptor(n_max=100)", ("raises", "InputError", "'n_max'")),
    ("coefficients-length-unit-shape",
     "ARISEDescriptor().atomic_coefficients(fcc, length_unit=np.ones(5))",
     ("raises", "InputError", "'length_unit'")),
    ("representations-empty", "result = representations([])",
     ("returns", None, "result.shape == (0, 256)")),
    ("plot-slice-index", "spm(fcc, box=10.0).plot_slice(index=99)",
     ("raises", "InputError", "'index'")),
    ("predict-nan", "load_model().predict(np.full((2, 316), np.nan))",
     ("raises", "InputError", "'descriptors'")),
    ("predict-shape", "load_model().predict(np.ones((2, 5)))",
     ("raises", "InputError", r"shape \(N, 316\)")),
    ("model-empty-string", "classify(fcc, model='')", ("raises", "InputError", "'model'")),
    ("settings-random-state-bool", "Settings(random_state=True)",
     ("raises", "TypeError", "'random_state'")),
    # --- 5. valid-looking input the model does not know ------------------------------------
    ("overlapping-atom",
     "a = bulk('Cu', 'fcc', a=3.6, cubic=True).repeat(4);"
     "classify(a + Atoms('Cu', positions=[a.positions[5] + [0.1, 0, 0]]))",
     ("warns", "OverlappingAtomsWarning", "atoms 5 and 256: 0.1 Å")),
    ("nanoparticle-in-vacuum-box",
     "p = Octahedron('Cu', 8); p.center(vacuum=10.0); p.pbc = True;"
     "result = spm(p, box=12.0, stride=4.0)", ("returns", None, "result.mode == 'exact'")),
    ("isolated-dimer", "classify(Atoms('Cu2', positions=[[0, 0, 0], [2.5, 0, 0]]))",
     ("raises", "InputError", "isolated cluster of 2")),
    ("high-entropy-alloy",
     "a = bulk('Cu', 'fcc', a=3.6, cubic=True).repeat(5);"
     "a.numbers = np.random.default_rng(0).choice([24, 25, 26, 27, 28], len(a));"
     "result = label(a)", ("returns", None, "result.counts() == {'fcc': 500}")),
]
