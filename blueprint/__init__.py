"""Blueprint (一张蓝图): the one name the product installs under.

The code lives in the top-level folders ``layers/``, ``analysis/``, ``service/`` and
``web/``; this package links them (symbolic links, followed by setuptools when it builds
the wheel) as ``blueprint.layers``, ``blueprint.analysis``, ``blueprint.service`` and
``blueprint.web``, so that an install claims only the name ``blueprint`` (issue 16).
"""
