"""Review: what the model is asked about a packed repository, and what its answers become.

:mod:`job` builds the review prompt (pack, grounding facts, JSON schema) and turns the model's
answer into validated findings or SARIF; :mod:`facts` computes the static facts that ground it
(definitions, tests, dependents); :mod:`ask` is the question session the TUI chats through,
reading the repository once and reusing it for every follow-up; :mod:`whole` reviews a
repository larger than one context as parts plus merge passes. All of it is UI-free: the CLI,
the TUI and the hook render the events it yields.
"""
