"""schemathesis hooks for scripts/conformance.sh (loaded through SCHEMATHESIS_HOOKS).

An upload chunk (PATCH /v1/uploads/{id}, PATCH /v1/agent/uploads/{id}) is raw bytes sent as
`application/offset+octet-stream`, a media type schemathesis has no generator for: it gets arbitrary bytes.
"""

from hypothesis import strategies as st

import schemathesis

schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=4096))
