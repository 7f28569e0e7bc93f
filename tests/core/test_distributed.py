"""client=: the same results on a real 2-worker Dask LocalCluster as in one process.

Bit for bit against this process with all its threads: the network evaluates whole batches on
threads of one BLAS thread each, and no sum depends on the thread count (docs/DECISIONS.md).
"""

import os
import signal

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read, write
import ase.db
from conftest import run_cli

from ase_arise import Settings, classify, label, load_prototypes, spm
from ase_arise.build import polycrystal
from ase_arise.cli import main
from ase_arise.distributed import check_client, frame_results, local_cluster
from ase_arise.errors import InputError, InputTypeError
from ase_arise.io import open_trajectory

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with local_cluster(2, 1) as client:
        yield client


def test_local_cluster_workers_without_the_profiler(client):
    import dask

    enabled = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    assert len(enabled) == 2 and not any(enabled.values())


def test_a_cluster_of_cards_gives_each_worker_its_own():
    """One worker per CUDA card, each seeing only its card (its "cuda:0"); no card is
    touched, so this runs without a GPU."""
    with local_cluster(None, 1, cards=[0, 1]) as cards:
        seen = cards.run(lambda: os.environ.get("CUDA_VISIBLE_DEVICES"))
        assert sorted(seen.values()) == ["0", "1"]
        assert sorted(cards.nthreads().values()) == [1, 1]


def test_command_line_gpu_workers_are_checked_first(tmp_path, capsys):
    path = tmp_path / "one.xyz"
    write(path, bulk("Cu", "fcc", a=3.6, cubic=True))
    status, _, err = run_cli(main, ["classify", path, "--device", "cuda:1", "--workers", "2"],
                             capsys)
    assert status == 1 and "one worker per card give --device cuda --workers N" in err[-1]
    try:
        import cupy  # noqa: F401
    except ImportError:  # no CuPy: the install hint, before any worker starts
        status, _, err = run_cli(main, ["classify", path, "--device", "cuda", "--workers",
                                        "1"], capsys)
        assert status == 1 and "needs CuPy" in err[-1]


def test_classify_on_workers_is_bit_identical(client):
    structures = [p.supercells()[0] for p in load_prototypes()[:40]]
    here = classify(structures, random_state=3)
    there = classify(structures, random_state=3, client=client)
    assert [r.class_id for r in there] == [r.class_id for r in here]
    for a, b in zip(here, there):
        np.testing.assert_array_equal(a.probabilities, b.probabilities)
        assert a.mutual_information == b.mutual_information
    one = classify(bulk("Cu", "fcc", a=3.6), client=client)
    assert one.name == "fcc"


def test_frames_on_workers_in_frame_order_as_in_one_process(client):
    frames = []
    for seed in range(3):
        atoms = polycrystal(24.0, random_state=seed)
        atoms.rattle(0.05, seed=seed)
        frames.append(atoms)
    settings = Settings(box=12.0, stride=4.0, random_state=np.random.default_rng(7))
    done = list(frame_results(frames, range(3), settings, client=client, probabilities=True))
    assert [k for k, _ in done] == [0, 1, 2]
    seed = int(np.random.default_rng(7).integers(2 ** 63))  # drawn once for all frames
    for (k, there), atoms in zip(done, frames):
        here = label(atoms, box=12.0, stride=4.0, probabilities=True, random_state=seed)
        np.testing.assert_array_equal(there.class_id, here.class_id)
        np.testing.assert_array_equal(there.probabilities, here.probabilities)
        assert there.atoms.arrays["arise_class"].tolist() == here.class_id.tolist()


def test_client_must_be_a_client():
    with pytest.raises(InputTypeError, match="dask.distributed.Client"):
        check_client("tcp://127.0.0.1:8786")
    with pytest.raises(InputTypeError, match="dask.distributed.Client"):
        classify(bulk("Cu", "fcc", a=3.6), client=object())


def test_command_line_workers_give_the_same_output(tmp_path, capsys):
    """arise classify / label --workers 2: a LocalCluster of the command's own, the same
    table and the same per-atom file as without it (one BLAS thread both ways)."""
    frames = [polycrystal(20.0, random_state=seed) for seed in range(2)]
    path = tmp_path / "traj.extxyz"
    write(path, frames)
    status, alone, _ = run_cli(main, ["classify", path, "--no-progress"], capsys)
    assert status == 0
    assert run_cli(main, ["label", path, "-o", tmp_path / "alone.xyz", "--box", "12",
                          "--no-progress"], capsys)[0] == 0
    status, spread, _ = run_cli(main, ["classify", path, "--no-progress", "--workers", "2"],
                                capsys)
    assert status == 0 and spread == alone
    status, out, _ = run_cli(main, ["label", path, "-o", tmp_path / "spread.xyz", "--box", "12",
                                    "--no-progress", "--workers", "2"], capsys)
    assert status == 0 and out[0].startswith("frame 0:") and out[1].startswith("frame 1:")
    assert (tmp_path / "spread.xyz").read_text() == (tmp_path / "alone.xyz").read_text()
    status, _, err = run_cli(main, ["classify", path, "--workers", "0"], capsys)
    assert status == 1 and "--workers must be 1 or more" in err[-1]
    # one frame: split into spatial domains on the workers, the same file
    for name, extra in (("alone1.xyz", []), ("spread1.xyz", ["--workers", "2"])):
        assert run_cli(main, ["label", path, "-o", tmp_path / name, "--box", "12",
                              "--frames", "1:2", "--no-progress"] + extra, capsys)[0] == 0
    assert (tmp_path / "spread1.xyz").read_text() == (tmp_path / "alone1.xyz").read_text()


def test_a_killed_worker_changes_nothing(client):
    """A worker process killed (SIGKILL) mid-run: Dask reruns its tasks elsewhere (the nanny
    restarts it), and every frame comes back, in order, equal to the undisturbed run."""
    frames = [polycrystal(24.0, random_state=seed) for seed in range(4)]
    settings = Settings(box=12.0, stride=4.0, random_state=5)
    calm = [labels.class_id for _, labels in frame_results(frames, range(4), settings,
                                                           client=client)]
    results = frame_results(frames, range(4), settings, client=client)
    k, labels = next(results)  # every task is submitted by now
    disturbed = [(k, labels.class_id)]
    victim = sorted(client.scheduler_info()["workers"])[0]
    os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)  # mid-run
    disturbed += [(k, labels.class_id) for k, labels in results]
    assert [k for k, _ in disturbed] == [0, 1, 2, 3]
    for (_, a), b in zip(disturbed, calm):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def trajectory(tmp_path_factory):
    """Three polycrystal frames in an extended XYZ file, the middle one with an unreadable
    coordinate."""
    frames = [polycrystal(20.0, random_state=seed) for seed in range(3)]
    for atoms in frames:
        atoms.rattle(0.03, seed=1)
    path = tmp_path_factory.mktemp("trajectory") / "traj.extxyz"
    write(path, frames)
    good = path.with_name("good.extxyz")
    good.write_text(path.read_text())
    lines = path.read_text().splitlines(keepends=True)
    second = len(frames[0]) + 2 + 2 + 5  # a line of frame 1's atoms
    parts = lines[second].split()
    parts[1] = "1.2.3"
    lines[second] = " ".join(parts) + "\n"
    path.write_text("".join(lines))
    return frames, good, path


def test_workers_read_their_own_frames_and_scan_them_as_one_process(client, trajectory):
    """The trajectory reaches the workers as byte offsets; labels and SPM maps equal one
    process's of the same frames."""
    _, good, _ = trajectory
    frames = read(good, index=":")  # as written (8 decimals)
    settings = Settings(box=12.0, stride=4.0, random_state=2)
    lazy = open_trajectory(good)
    assert type(lazy).__name__ == "TextFrames"
    labels = dict(frame_results(lazy, [2, 0], settings, client=client))
    maps = dict(frame_results(lazy, [1], settings, client=client, work="spm"))
    for k in (0, 2):
        here = label(frames[k], box=12.0, stride=4.0, random_state=2)
        np.testing.assert_array_equal(labels[k].class_id, here.class_id)
        np.testing.assert_array_equal(labels[k].atoms.positions, frames[k].positions)
    here = spm(frames[1], box=12.0, stride=4.0, random_state=2)
    np.testing.assert_array_equal(maps[1].probabilities, here.probabilities)
    np.testing.assert_array_equal(maps[1].mutual_information, here.mutual_information)


def test_a_failing_frame_is_reported_by_number_and_the_rest_completes(client, trajectory,
                                                                      tmp_path, capsys):
    _, good, bad = trajectory
    frames = read(good, index=":")
    settings = Settings(box=12.0, stride=4.0, random_state=2)
    results = list(frame_results(open_trajectory(bad), range(3), settings, client=client))
    assert [k for k, _ in results] == [0, 1, 2]
    assert isinstance(results[1][1], InputError) and "frame 1 of" in str(results[1][1])
    here = list(frame_results(open_trajectory(bad), range(3), settings))  # one process alike
    assert isinstance(here[1][1], InputError)
    np.testing.assert_array_equal(here[2][1].class_id, results[2][1].class_id)
    out = tmp_path / "labels.xyz"
    status, printed, err = run_cli(main, ["label", bad, "-o", out, "--box", "12",
                                          "--no-progress", "--workers", "2"], capsys)
    assert status == 1
    assert any(line.startswith("arise label: error: frame 1: Cannot read frame 1") for line in err)
    assert "frame(s) 1 failed" in err[-1] and printed[-1] == f"wrote {out} (2 frames)"
    written = read(out, index=":")
    assert [atoms.info["frame"] for atoms in written] == [0, 2]
    np.testing.assert_array_equal(written[1].positions, frames[2].positions)


def test_classify_of_a_database_on_workers_reads_it_there(client, tmp_path):
    structures = [p.supercells()[0] for p in load_prototypes()[:12]]
    path = tmp_path / "many.db"
    with ase.db.connect(path) as db:
        for atoms in structures:
            db.write(atoms)
    here = classify(structures, random_state=4)
    from ase_arise import distributed as module
    there = module.classify_on(client, open_trajectory(path), dict(random_state=4), 5)
    assert [r.class_id for r in there] == [r.class_id for r in here]
    for a, b in zip(here, classify(path, random_state=4, client=client)):
        np.testing.assert_array_equal(a.probabilities, b.probabilities)
        assert a.n_atoms == b.n_atoms


def test_the_cluster_shows_its_progress(client, capsys):
    """tqdm bars of the frames and structures done on the cluster (stderr)."""
    frames = [polycrystal(16.0, random_state=seed) for seed in range(2)]
    settings = Settings(box=12.0, stride=6.0)
    assert len(list(frame_results(frames, range(2), settings, client=client,
                                  progress=True))) == 2
    classify(frames, client=client, progress=True)
    err = capsys.readouterr().err
    assert "ARISE label: frames on the cluster" in err and "2/2" in err
    assert "ARISE classification on the cluster" in err


def _same_labels(here, there):
    for name in ("class_id", "probability", "mutual_information", "probabilities",
                 "anisotropy", "uncertainty", "box_index"):
        np.testing.assert_array_equal(getattr(there, name), getattr(here, name), err_msg=name)
    np.testing.assert_array_equal(there.spm.n_atoms, here.spm.n_atoms)
    np.testing.assert_array_equal(there.spm.passes, here.spm.passes)


@pytest.mark.parametrize("case", ["two species, fast", "open slab, exact", "box 10 / stride 3",
                                  "slab in a periodic box"])
def test_one_sample_in_spatial_domains_is_bit_identical(client, monkeypatch, case):
    """label(client=) splits one sample into x-slices and network chunks on the workers;
    small chunks (200 boxes: two planes) give several slices and chunk boundaries here. A
    slab in a periodic box is submitted as given (fast mode), then begun again in exact mode
    once the client's check opens the axis across the vacuum."""
    import importlib

    monkeypatch.setattr(importlib.import_module("ase_arise.spm.driver"), "CHUNK_BOXES", 200)
    atoms = polycrystal(40.0, random_state=2)
    options = dict(box=12.0, stride=4.0)
    if case == "two species, fast":
        atoms.numbers[::9] = 29
    elif case == "open slab, exact":
        atoms = atoms[atoms.positions[:, 0] < 30.0]
        atoms.pbc = (False, True, True)
    elif case == "slab in a periodic box":
        atoms = atoms[atoms.positions[:, 0] < 24.0]
        atoms.cell[0, 0] = 60.0  # 36 Å of vacuum along a periodic x
    else:
        atoms.rattle(0.1, seed=1)
        options = dict(box=10.0, stride=3.0)
    here = label(atoms, random_state=0, probabilities=True, **options)
    there = label(atoms, random_state=0, probabilities=True, client=client, **options)
    assert there.spm.mode == ("fast" if case.endswith("fast") or "stride" in case
                              else "exact")
    _same_labels(here, there)
    if case == "two species, fast":
        scan = spm(atoms, random_state=0, client=client, **options)
        np.testing.assert_array_equal(scan.probabilities, here.spm.probabilities)


@pytest.mark.parametrize("pbc", [(True, True, True), (False, True, True), (False,) * 3])
@pytest.mark.parametrize("tilted", [False, True], ids=["orthorhombic", "tilted"])
def test_a_slices_images_come_from_its_atoms_near_x_alone(pbc, tilted):
    """A domain task's periodic images, nearest distances and local d_NN come from the atoms
    near its x-window (a sorted x index, no pass over every atom): the whole sample's points
    and order, and the same distances and units, bit for bit."""
    import importlib

    from ase_arise.descriptor.dnn import sample_nearest
    from ase_arise.descriptor.local_dnn import unit_reach, units_of
    from ase_arise.descriptor.neighbors import periodic_images

    atoms = polycrystal(30.0, random_state=1)
    atoms.numbers[::7] = 29  # two species
    atoms.pbc = pbc
    if tilted:  # the second vector has an x part: images move in x by more than the first
        atoms.set_cell(atoms.cell.array + [[0, 0, 0], [4.0, 0, 0], [0, 0, 0]])
    sample = importlib.import_module("ase_arise.spm.domains")._Sample.of(
        atoms.positions, atoms.numbers, atoms.cell.array, np.array(pbc))
    rng = np.random.default_rng(0)
    for _ in range(25):
        low = rng.uniform(-10.0, 35.0)
        high, cutoff = low + rng.uniform(0.0, 25.0), rng.uniform(1.0, 12.0)
        whole = periodic_images(sample.wrapped, sample.cell, sample.pbc, cutoff,
                                ((low, -np.inf, -np.inf), (high, np.inf, np.inf)))
        for got, want in zip(sample.images(cutoff, low, high), whole):
            np.testing.assert_array_equal(got, want)
    near = len(sample.near_x(0.0, 4.0))
    assert near == len(atoms) if tilted and pbc[1] else near < len(atoms) / 3
    # the nearest distances and local d_NN of a slice's atoms, searched through the index
    args = (sample.wrapped, sample.numbers, sample.cell, sample.pbc)
    centres = np.flatnonzero(sample.wrapped[:, 0] < 8.0)
    whole = sample_nearest(*args)
    for got, want in zip(sample_nearest(*args, centres, window=sample.near_x), whole):
        np.testing.assert_array_equal(got, want[centres])
    reach = unit_reach(whole[1], sample.numbers)
    np.testing.assert_array_equal(
        units_of(*args, whole[1], reach, centres, window=sample.near_x),
        units_of(*args, whole[1], reach, np.arange(len(atoms)))[centres])


def test_spatial_domains_reject_what_they_cannot_split(client):
    atoms = polycrystal(24.0, random_state=0)
    with pytest.raises(InputError, match="per_atom"):
        label(atoms, per_atom=True, client=client)
    tilted = atoms.copy()
    tilted.set_cell(atoms.cell[:] + [[0, 0, 0], [6.0, 0, 0], [0, 0, 0]], scale_atoms=True)
    with pytest.raises(InputError, match="orthorhombic"):
        label(tilted, client=client)
    with pytest.raises(InputError, match="keep_descriptors"):
        spm(atoms, keep_descriptors=True, client=client)
