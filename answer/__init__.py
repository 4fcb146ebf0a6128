"""Answer: condense → retrieve → perimeter → generate → validate/repair → audit.

Built by the answer service issue (FastAPI at the edge).
"""
