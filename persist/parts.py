"""Which PartStore a byte store offers: implemented beside each store, found here.

A byte store may implement `PartStore` itself; the file and S3 stores get theirs from
their own modules (`file_parts`, `s3_parts`), so the stores' core files stay as they were.
"""

from __future__ import annotations

import sys

from .protocols import ByteStore, PartStore


def parts_for(byte_store: ByteStore) -> PartStore | None:
    """The PartStore on `byte_store`'s storage, or None when it has none."""
    if isinstance(byte_store, PartStore):
        return byte_store
    from .filestore import FileByteStore

    if isinstance(byte_store, FileByteStore):
        from .file_parts import FileParts

        return FileParts(byte_store)
    s3 = sys.modules.get(__package__ + ".s3store")  # loaded only when an S3 store exists
    if s3 is not None and isinstance(byte_store, s3.S3ByteStore):
        from .s3_parts import S3Parts

        return S3Parts(byte_store)
    return None
