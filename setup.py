"""Build script for radsig's one optional C extension; everything else is in pyproject.toml.

``radsig.features.pyradiomics._ckernels`` speeds up the PyRadiomics-mode texture matrices. It is
optional: where no C compiler is available the build skips it (with a warning) and radsig uses
the NumPy implementation it is tested against.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "radsig.features.pyradiomics._ckernels",
            ["src/radsig/features/pyradiomics/_ckernels.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
