"""Stage 4, packing: fill a token budget with the repository, dependencies first.

:mod:`pack` is the entry point (exposed as :func:`repoctx.pack`): it ranks files, asks
:mod:`selection` which get full text, which a signature skeleton and which only a path, and
:mod:`render` lays the result out (XML, Markdown or the Qwen chat layout) with :mod:`bodies`
supplying file text after :mod:`redact` has removed secrets under the rules of :mod:`policy`.
:mod:`plan` splits a repository too large for one context into several packs that each fit.
A file is never split, and everything left out is reported with its reason.
"""
