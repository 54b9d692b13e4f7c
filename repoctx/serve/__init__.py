"""``repoctx serve``: one loaded model behind an OpenAI-compatible HTTP server.

:mod:`http` is the server (it keeps the repository prefix evaluated between requests);
:mod:`openai` translates OpenAI chat requests to repoctx prompts and options; :mod:`client` is
the side the other front ends use: the state file a running server leaves, how to find it and
ask its health, so ``review`` and the hook prefer a model already loaded.
"""
