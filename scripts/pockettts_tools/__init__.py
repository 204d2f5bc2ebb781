"""Python tooling of pockettts: drives and observes upstream ``pocket_tts`` (the releases pinned in contracts/upstreams.json,
one venv each; ``upstreams`` says which one runs).

Each job is a small CLI run as ``python -m pockettts_tools.<job>``. Jobs talk to the TypeScript runner
through JSON lines on stdout (see ``protocol``). Nothing here re-implements or patches upstream math.
"""

__version__ = "0.1.0"
