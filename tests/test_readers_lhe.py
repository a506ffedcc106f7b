"""LHE reader: identical to pylhe 2.x on every real file; errors on every broken one."""

from __future__ import annotations

import gzip
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from shared import SHARED_DATA, SKIP_REASON

from darkscan.readers import lhe
from darkscan.errors import InputFileError

FIXTURES = Path(__file__).parent / "data" / "readers"


DATA = SHARED_DATA
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=SKIP_REASON)
REAL_FILES = sorted(DATA.glob("lhe/*.lhe*")) + sorted(DATA.glob("mg5/*/*.lhe.gz")) if DATA.is_dir() else []
ALL_FILES = REAL_FILES + [FIXTURES / "generic_lhef3.lhe"]


def _id(path: Path) -> str:
    return path.parent.name + "/" + path.name if path.parent.parent.name == "mg5" else path.name


@pytest.fixture(scope="module")
def pylhe():
    return pytest.importorskip("pylhe")


@pytest.mark.parametrize("path", ALL_FILES, ids=_id)
def test_values_identical_to_pylhe(path: Path, pylhe) -> None:
    if not path.exists():
        pytest.skip(f"{path} missing")
    reference = pylhe.to_awkward(pylhe.LHEFile.fromfile(path))
    ours = lhe.read(path)
    assert ak.fields(ours) == ak.fields(reference)
    assert len(ours) == len(reference) > 0
    # every particle field, event-info field and named weight, value for value (exact floats)
    assert ak.to_list(ours) == ak.to_list(reference)
    for field in ("px", "py", "pz", "e"):
        assert ours.particles.vector[field].type.content == reference.particles.vector[field].type.content


@pytest.mark.parametrize("path", ALL_FILES, ids=_id)
def test_init_block_identical_to_pylhe(path: Path, pylhe) -> None:
    if not path.exists():
        pytest.skip(f"{path} missing")
    reference = pylhe.LHEFile.fromfile(path)
    for _ in reference.events:  # run pylhe's generator to the end so that it closes the file
        pass
    with lhe.open(path) as handle:
        init = handle.init
    info = reference.init.initInfo
    assert init.beams == (info.beamA, info.beamB)
    assert init.energies_gev == (info.energyA, info.energyB)
    assert init.pdf_groups == (info.PDFgroupA, info.PDFgroupB)
    assert init.pdf_sets == (info.PDFsetA, info.PDFsetB)
    assert init.weighting_strategy == info.weightingStrategy
    assert len(init.processes) == info.numProcesses == len(reference.init.procInfo)
    for ours, theirs in zip(init.processes, reference.init.procInfo):
        assert (ours.xsec_pb, ours.error_pb, ours.xmax, ours.lprup) == (
            theirs.xSection, theirs.error, theirs.unitWeight, theirs.procId)
    assert init.generators == tuple((g.name, g.version) for g in reference.init.generators)
    header_ids = reference.header.initrwgt.list_weights_ids() if reference.header is not None else []
    assert list(init.weight_ids) == header_ids
    assert init.version == (reference.version or "")


@needs_data
def test_named_weights_of_mg5_file() -> None:
    path = DATA / "lhe" / "pylhe-testfile-madgraph5-3.5.8-pp_to_jj.lhe.gz"
    arrays = lhe.read(path)
    with lhe.open(path) as handle:
        declared = handle.init.weight_ids
    # every weight the header declares, in its order, finite in every event
    assert ak.fields(arrays.weights) == list(declared) and len(declared) > 100
    assert all(np.isfinite(ak.to_numpy(arrays.weights[name])).all() for name in declared)


@needs_data
def test_cross_section_of_mg5_run_matches_banner() -> None:
    with lhe.open(DATA / "mg5" / "znunu_j" / "unweighted_events.lhe.gz") as handle:
        init = handle.init
    assert init.cross_section_pb == pytest.approx(45.8651)  # "Integrated weight (pb)" of the banner
    assert init.beams == (2212, 2212) and init.energies_gev == (6500.0, 6500.0)
    assert init.pdf_sets == (247000, 247000)  # nn23lo1


@needs_data
def test_iterate_in_steps_and_small_blocks_gives_the_same_events(monkeypatch: pytest.MonkeyPatch) -> None:
    path = DATA / "mg5" / "mssm_n1n1z_ll" / "unweighted_events.lhe.gz"
    whole = lhe.read(path)
    monkeypatch.setattr(lhe, "_BLOCK_BYTES", 10_000)  # many blocks: exercises every block boundary
    from darkscan.readers import _stream

    monkeypatch.setattr(_stream, "READ_BYTES", 4_096 * 8)
    chunks = list(lhe.iterate(path, step_size=300))
    assert [len(c) for c in chunks] == [300] * 6 + [200]
    assert ak.to_list(ak.concatenate(chunks)) == ak.to_list(whole)


@needs_data
def test_filter_name_selects_fields() -> None:
    path = DATA / "lhe" / "pylhe-testfile-madgraph-2.0.0-wbj.lhe"
    assert ak.fields(lhe.read(path, filter_name="eventinfo")) == ["eventinfo"]
    assert ak.fields(lhe.read(path, filter_name=["part*", "weights"])) == ["weights", "particles"]
    with pytest.raises(InputFileError, match="matches none"):
        lhe.read(path, filter_name="jets")


@needs_data
def test_particles_have_vector_behaviour() -> None:
    arrays = lhe.read(DATA / "mg5" / "znunu_j" / "unweighted_events.lhe.gz")
    p = arrays.particles.vector
    # incoming partons (status −1) carry x·E_beam along z, so Σ outgoing = Σ incoming
    incoming = p[arrays.particles.status == -1]
    outgoing = p[arrays.particles.status == 1]
    np.testing.assert_allclose(ak.to_numpy(ak.sum(outgoing.px, axis=1)), 0.0, atol=1e-6)
    np.testing.assert_allclose(ak.to_numpy(ak.sum(outgoing.e, axis=1)), ak.to_numpy(ak.sum(incoming.e, axis=1)), rtol=1e-9)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(p.mass)), ak.to_numpy(ak.flatten(arrays.particles.m)), atol=0.05)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("truncated.lhe", r"truncated\.lhe: event 3: is truncated"),
        ("broken_number.lhe", r"broken_number\.lhe: event 2: '1\.69459x565E\+02' is not a number"),
        ("missing_particle.lhe", r"missing_particle\.lhe: event 2: header says 6 particles"),
        ("missing_close.lhe", r"missing_close\.lhe: event 2: has no </event>"),
        ("not_lhe.lhe", r"not_lhe\.lhe: no <LesHouchesEvents> tag"),
        ("empty.lhe", r"empty\.lhe: empty file"),
    ],
)
def test_broken_files_raise_naming_file_and_event(name: str, message: str) -> None:
    with pytest.raises(InputFileError, match=message) as info:
        lhe.read(FIXTURES / name)
    assert len(str(info.value).splitlines()) == 1


@needs_data
def test_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    data = (DATA / "mg5" / "znunu_j" / "unweighted_events.lhe.gz").read_bytes()
    cut = tmp_path / "cut.lhe.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="cut.lhe.gz"):
        lhe.read(cut)


@needs_data
def test_file_cut_exactly_after_an_event_is_an_error(tmp_path: Path) -> None:
    text = gzip.decompress((DATA / "mg5" / "znunu_j" / "unweighted_events.lhe.gz").read_bytes())
    end = text.index(b"</event>", len(text) // 2) + len(b"</event>\n")
    path = tmp_path / "short.lhe"
    path.write_bytes(text[:end])
    with pytest.raises(InputFileError, match=r"short\.lhe: file ends after event \d+ without </LesHouchesEvents>"):
        lhe.read(path)


def test_missing_file() -> None:
    with pytest.raises(InputFileError, match="no such file"):
        lhe.read(FIXTURES / "does_not_exist.lhe")


@needs_data
def test_parton_level_event_table_against_pylhe_objects(pylhe) -> None:
    """MET = |Σ pT(ν)|, jets = outgoing partons, computed independently from pylhe's particles."""
    path = DATA / "mg5" / "znunu_j" / "unweighted_events.lhe.gz"
    table, metadata = lhe.event_table(path)
    assert metadata.cross_section_pb == pytest.approx(45.8651)
    assert metadata.level == "parton" and metadata.n_accepted == len(table) == 2000
    for k, event in enumerate(pylhe.LHEFile.fromfile(path).events):
        if k >= 200:
            continue  # run the generator to its end so that pylhe closes the file
        nu = [p for p in event.particles if p.status == 1 and abs(p.id) in (12, 14, 16)]
        partons = sorted((np.hypot(p.px, p.py) for p in event.particles
                          if p.status == 1 and (abs(p.id) <= 6 or p.id == 21)), reverse=True)
        px, py = sum(p.px for p in nu), sum(p.py for p in nu)
        assert table.met[k] == pytest.approx(np.hypot(px, py), rel=1e-12)
        assert table.met_phi[k] == pytest.approx(np.arctan2(py, px), rel=1e-12)
        assert ak.to_list(table.jets.pt[k]) == pytest.approx(partons, rel=1e-12)
        assert table.weight[k] == event.eventinfo.weight


@needs_data
def test_bsm_invisibles_are_declared_not_guessed() -> None:
    path = DATA / "mg5" / "mssm_n1n1j" / "unweighted_events.lhe.gz"
    without, _ = lhe.event_table(path)
    with_n1, _ = lhe.event_table(path, invisible_pdgids=[1000022])
    assert np.all(ak.to_numpy(without.met) == 0.0)  # only ν are invisible by default
    # p p > n1 n1 j: the two χ̃⁰₁ recoil against the single parton
    np.testing.assert_allclose(ak.to_numpy(with_n1.met), ak.to_numpy(with_n1.jets.pt[:, 0]), rtol=1e-9)


def test_comment_lines_in_init_are_skipped(tmp_path: Path) -> None:
    """pylhe 2.1 fails on them; the standard allows '#' lines of optional information."""
    text = (FIXTURES / "generic_lhef3.lhe").read_text()
    path = tmp_path / "init_comments.lhe"
    path.write_text(text.replace("<init>\n", "<init>\n# generated by a writer that comments its init block\n")
                    .replace("</init>", "# trailing comment\n</init>"))
    with lhe.open(path) as handle, lhe.open(FIXTURES / "generic_lhef3.lhe") as reference:
        assert handle.init == reference.init
    assert ak.to_list(lhe.read(path)) == ak.to_list(lhe.read(FIXTURES / "generic_lhef3.lhe"))


@needs_data
def test_sample_cross_section_is_mg5s_integrated_weight_when_the_init_block_disagrees():
    # MG5 3.5.7 wrote XSECUP = 4.2e-07 pb in <init> for p p > n1 n1 z, z > l+ l-, while its banner
    # (Integrated weight) and every event weight (event_norm = average) say 1.345e-05 pb
    with lhe.LHEFile(SHARED_DATA / "mg5" / "mssm_n1n1z_ll" / "unweighted_events.lhe.gz") as handle:
        assert handle.init.cross_section_pb == pytest.approx(4.201082e-07)
        sigma, error = handle.sample_cross_section()
        weights = handle.read(filter_name="eventinfo").eventinfo.weight
    assert sigma == pytest.approx(1.344810911299399e-05)
    assert float(np.mean(weights)) == pytest.approx(sigma, rel=1e-6)
    assert error / sigma == pytest.approx(1.148703e-08 / 4.201082e-07)
    table, metadata = lhe.event_table(SHARED_DATA / "mg5" / "mssm_n1n1z_ll" / "unweighted_events.lhe.gz")
    assert metadata.cross_section_pb == pytest.approx(sigma)
    # where the two agree nothing changes
    with lhe.LHEFile(SHARED_DATA / "mg5" / "znunu_j" / "unweighted_events.lhe.gz") as handle:
        assert handle.sample_cross_section()[0] == pytest.approx(handle.init.cross_section_pb, rel=1e-6)


needs_compiled = pytest.mark.skipif(lhe._compiled is None, reason="the compiled LHE parser was not built (no C compiler)")


def _bits(array: ak.Array) -> list[np.ndarray]:
    """Every leaf of an array as raw bits, so that -0.0 ≠ 0.0 and NaN payloads count."""
    leaves = []
    for form_key, buffer in sorted(ak.to_buffers(ak.to_packed(array))[2].items()):
        leaves.append((form_key, np.asarray(buffer).view(np.uint8)))
    return leaves


@needs_compiled
@pytest.mark.parametrize("path", ALL_FILES, ids=_id)
def test_compiled_parser_and_numpy_path_give_identical_bits(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not path.exists():
        pytest.skip(f"{path} missing")
    calls: list[bool] = []
    compiled = lhe._compiled

    class Spy:
        @staticmethod
        def parse_events(data: bytes):  # type: ignore[no-untyped-def]
            result = compiled.parse_events(data)
            calls.append(result is not None)
            return result

    monkeypatch.setattr(lhe, "_compiled", Spy)
    fast = lhe.read(path)
    assert calls and all(calls), "the compiled parser declined a valid file"
    monkeypatch.setattr(lhe, "_compiled", None)
    slow = lhe.read(path)
    for (key_a, a), (key_b, b) in zip(_bits(fast), _bits(slow)):
        assert key_a == key_b and np.array_equal(a, b), key_a


@needs_compiled
def test_compiled_parser_rounds_every_number_like_float() -> None:
    """Clinger's fast path and the strtod fallback both round correctly: the same bits as float()."""
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, 1e3, 400), rng.uniform(-1, 1, 200) * 10.0 ** rng.integers(-300, 300, 200),
                             [0.0, -0.0, 5e-324, 1.7976931348623157e308, 0.1, 2.0**53 + 2, 123456789012345678.0]])
    texts = [f"{v:.10e}" for v in values] + [repr(float(v)) for v in values] + [f"{v:.17g}" for v in values]
    texts += ["+1.", ".5", "-.25e-3", "7", "0000000000000000000000001.5", "1" * 30, "1e22", "1e23", "123456789e-30"]
    rows = [" ".join(texts[i:i + 13]) for i in range(0, len(texts) - len(texts) % 13, 13)]
    block = "<event>\n{n} 1 1 1 1 1\n{rows}\n</event>".format(n=len(rows), rows="\n".join(rows)).encode()
    n_events, _, particles, _, has_weights = lhe._compiled.parse_events(block)
    assert not has_weights
    assert n_events == 1
    expected = np.array([float(t) for row in rows for t in row.split()])
    parsed = np.column_stack([np.frombuffer(column, dtype=np.float64) for column in particles]).ravel()
    assert np.array_equal(parsed.view(np.uint64), expected.view(np.uint64))


@needs_compiled
@pytest.mark.parametrize("token", ["1.0D+00", "nan", "inf", "0x10", "1e", "--1", "1.0.0", "1,0", "1_0"])
def test_compiled_parser_declines_what_is_not_a_plain_decimal(token: str) -> None:
    block = f"<event>\n0 1 1 1 1 {token}\n</event>".encode()
    assert lhe._compiled.parse_events(block) is None


@needs_compiled
def test_compiled_parser_flags_weights_and_declines_unpaired_tags() -> None:
    event = "<event>\n0 1 1 1 1 1\n{inner}</event>"
    assert lhe._compiled.parse_events(event.format(inner="<rwgt><wgt id='a'>1</wgt></rwgt>\n").encode())[4]
    assert lhe._compiled.parse_events(event.format(inner="<weights> 1 2 </weights>\n").encode())[4]
    assert not lhe._compiled.parse_events(event.format(inner="<mgrwt><wx>1</wx></mgrwt>\n").encode())[4]
    assert lhe._compiled.parse_events((event.format(inner="") * 2).replace("</event>", "", 1).encode() + b"</x>") is None
