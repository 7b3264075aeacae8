"""Build of bgplab's one optional compiled part (the rest is in pyproject.toml).

``bgplab._intmap`` is an int-keyed map in C (see bgplab.rib.intmap). It is
optional: when it does not compile (no C compiler or Python headers), the
install goes on and bgplab uses plain dicts, which are the tested reference.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "bgplab._intmap",
            ["src/bgplab/_intmap.c"],
            optional=True,  # a failed compile is a warning, not a failed install
            extra_compile_args=["-O2"],
        )
    ]
)
