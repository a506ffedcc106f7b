"""The compiled pieces: the LHE reader's one-pass event parser (darkscan/readers/_lhe_parse.c), the fast
detector's particle-level chain (darkscan/gen/_detector.c) and its anti-kT clustering
(darkscan/gen/_antikt.c).

All are optional: where no C compiler is available the build goes on without them; the reader uses
its pure-Python path, the detector its numpy code and FastJet, which give the same values
(tests/test_readers_lhe.py, tests/test_detector_identity.py and tests/test_clustering.py compare them).
The detector draws its random numbers through numpy's BitGenerator and numpy's own normal sampler
(libnpyrandom, shipped in numpy's wheel), so it needs numpy's headers to build.
"""

from pathlib import Path

from setuptools import Extension, setup


def _numpy_random() -> dict:
    """Where numpy's C headers and its static random library are (numpy is a build requirement)."""
    try:
        import numpy
    except ImportError:
        return {}
    library = Path(numpy.__file__).parent / "random" / "lib"
    if not (library / "libnpyrandom.a").exists() and not (library / "npyrandom.lib").exists():
        return {}
    return {"include_dirs": [numpy.get_include()], "library_dirs": [str(library)], "libraries": ["npyrandom"]}


_detector = _numpy_random()

setup(
    ext_modules=[
        Extension(
            "darkscan.readers._lhe_parse",
            ["src/darkscan/readers/_lhe_parse.c"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
        Extension(
            "darkscan.gen._antikt",
            ["src/darkscan/gen/_antikt.c"],
            depends=["src/darkscan/gen/_buffers.h"],
            # FastJet's arithmetic has no fused multiply-adds; contracting would change the last bits
            extra_compile_args=["-O3", "-ffp-contract=off"],
            optional=True,
        ),
        *([Extension(
            "darkscan.gen._detector",
            ["src/darkscan/gen/_detector.c"],
            depends=["src/darkscan/gen/_buffers.h"],
            # numpy's element-wise arithmetic has no fused multiply-adds either
            extra_compile_args=["-O3", "-ffp-contract=off"],
            optional=True,
            **_detector,
        )] if _detector else []),
    ]
)
