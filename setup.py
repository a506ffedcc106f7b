"""The one compiled piece: the LHE reader's one-pass event parser (darkscan/readers/_lhe_parse.c).

It is optional: where no C compiler is available the build goes on without it and the reader uses
its pure-Python path, which gives identical values (tests/test_readers_lhe.py compares the two).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "darkscan.readers._lhe_parse",
            ["src/darkscan/readers/_lhe_parse.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
