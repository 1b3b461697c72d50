"""The `upload` command: a tus 1.0.0 server implementing the generated tus interface.

Imported as `tuskit.upload` (see the README's "Import names"); run as `upload`.
"""
