"""The compiled pieces: the LHE reader's one-pass event parser (darkscan/readers/_lhe_parse.c) and
the fast detector's anti-kT clustering (darkscan/gen/_antikt.c).

Both are optional: where no C compiler is available the build goes on without them; the reader uses
its pure-Python path and the detector FastJet, which give identical values (tests/test_readers_lhe.py
and tests/test_clustering.py compare them).
"""

from setuptools import Extension, setup

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
            # FastJet's arithmetic has no fused multiply-adds; contracting would change the last bits
            extra_compile_args=["-O3", "-ffp-contract=off"],
            optional=True,
        ),
    ]
)
