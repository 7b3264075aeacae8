"""The read-only web view (looking glass): JSON documents read through the
control socket's command layer (:mod:`.api`), the pages rendered from them
(:mod:`.pages`), the OpenAPI description (:mod:`.openapi`) and the static
script and style sheet. The HTTP server is :mod:`bgplab.io.http`."""
