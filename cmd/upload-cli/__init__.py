"""`upload-cli`: push files to an `upload` server from a terminal, with progress and resume.

Installed as `tuskit.uploadcli` (the folder is `cmd/upload-cli`, next to `cmd/upload`).
Composite commands (`send`, `get`, `session-send`, `ls`, `rm`) are handwritten here; the
per-method commands (`upload-cli tus head ...`) are the generated `gen/http/*/cli.py`.
"""
