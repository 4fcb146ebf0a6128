"""Answer: condense → retrieve → perimeter → generate → validate/repair → audit (the HTTP
routes are the edge's, in `verity/`)."""
