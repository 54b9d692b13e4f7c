"""The Jinja templates of every prompt repoctx sends a model, shipped as ``repoctx.prompts``.

This folder sits at the top of the repository so that users can read and edit the prompts
without reading code; setuptools maps it to the ``repoctx.prompts`` package (pyproject.toml,
``package-dir``), so an installed wheel and an editable install both load the ``*.j2`` files
here through ``importlib.resources``.
"""
