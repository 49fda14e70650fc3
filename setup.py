"""Build script for radsig's optional C extensions; everything else is in pyproject.toml.

- ``radsig.features.pyradiomics._ckernels``: the PyRadiomics-mode texture matrices;
- ``radsig.preprocess._cfilters``: the LoG (ITK's recursive Gaussian) and wavelet (PyWavelets'
  stationary transform) images;
- ``radsig.features._chull``: the exact convex hull of IBSI morphology's mesh (lattice points)
  and the loops of its bounding volumes (Khachiyan's MVEE, the oriented minimum box search).

All are optional: where no C compiler is available the build skips them (with a warning) and
radsig uses the NumPy / SimpleITK code they are tested against. Floating-point contraction is off
so that results do not depend on the CPU's fused multiply-add.
"""

import sys

from setuptools import Extension, setup

ARGS = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]

setup(
    ext_modules=[
        Extension("radsig.features.pyradiomics._ckernels",
                  ["src/radsig/features/pyradiomics/_ckernels.c"],
                  extra_compile_args=ARGS, optional=True),
        Extension("radsig.preprocess._cfilters",
                  ["src/radsig/preprocess/_cfilters.c"],
                  extra_compile_args=ARGS, optional=True),
        Extension("radsig.features._chull", ["src/radsig/features/_chull.c"],
                  extra_compile_args=ARGS, optional=True),
    ]
)
