"""tuskit: the tus upload service (design, generated code, stores, the `upload` command).

This package only exists to give the repository's fixed folders distinctive import
names; see the README section "Import names".
"""
