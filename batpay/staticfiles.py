"""Static files storage for `manage.py serve` (one machine, not production).

WhiteNoise's CompressedStaticFilesStorage compresses every file again on every `collectstatic`
(some 25 s for the API docs' bundles), which `serve` runs at each start. This one compresses a file
only when it has changed: WhiteNoise gives a compressed copy its source's modification time, and
`collectstatic` gives a file it copies anew a new one. Production keeps WhiteNoise's
CompressedManifestStaticFilesStorage, run once per release.
"""

from __future__ import annotations

import os

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedStaticFilesStorage


class _ChangedOnlyCompressor(Compressor):
    def compress(self, path: str) -> list[str]:
        source_mtime = os.stat(path).st_mtime
        current = [
            path + suffix
            for suffix in (".br", ".gz")
            if os.path.exists(path + suffix) and os.stat(path + suffix).st_mtime == source_mtime
        ]
        return current or super().compress(path)


class ChangedOnlyCompressedStaticFilesStorage(CompressedStaticFilesStorage):
    def create_compressor(self, **kwargs) -> Compressor:
        return _ChangedOnlyCompressor(**kwargs)
