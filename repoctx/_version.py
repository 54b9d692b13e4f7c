"""repoctx's version, in a module of its own so that core modules can read it without
importing the package's ``__init__`` (whose lazy ``scan``/``pack`` lead back to them)."""

__version__ = "0.1.0"
