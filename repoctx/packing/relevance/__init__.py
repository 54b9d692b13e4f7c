"""relevance: which files matter for a request, and why (issue 18).

Signals (``signals``) describe every file relative to the focus: import edges both ways
(through re-exporting barrels too), symbol use, logical coupling mined from git history
(``cochange``), test/source pairing, same directory, twins. The model (``model``) weighs
them into one score per file with a reason naming the signals; ``knapsack`` picks what gets
full text by value per token. ``rank_for`` is the one entry point the packer calls.
"""

from __future__ import annotations

from repoctx.packing.relevance.model import Relevance, rank_for

__all__ = ["Relevance", "rank_for"]
