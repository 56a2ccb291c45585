"""What a GGUF model file says about itself: its weight count and type.

Only the header is read (metadata, then one entry per tensor), never the
weights, so a file of many gigabytes is read in milliseconds. The weight
count is the sum over tensors of their shapes' products; the type is the
``general.file_type`` the quantiser wrote (llama.cpp's ``llama_ftype``).

GGUF versions 2 and 3 are read (version 1, of 2023, used 32-bit counts and
is refused with a clear error). Layout, all little-endian: the magic
``GGUF``, a uint32 version, uint64 tensor and metadata counts; each metadata
entry is a string key, a uint32 value type and the value; each tensor entry
is a string name, a uint32 dimension count, that many uint64 dimensions, a
uint32 tensor type and a uint64 offset. A string is a uint64 length and
UTF-8 bytes; an array is a uint32 element type, a uint64 count and the
elements.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from costaudit.errors import CostauditError

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
# Value types with a fixed width: their struct format.
_SCALARS = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
    10: "<Q", 11: "<q", 12: "<d",
}  # fmt: skip
_STRING, _ARRAY = 8, 9
# llama.cpp's llama_ftype values, as named in the bits-per-weight table.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
    10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S",
    15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS",
    20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S",
    25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M",
    30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
}  # fmt: skip


@dataclass(frozen=True)
class GgufInfo:
    path: Path
    size_bytes: int
    parameters: int
    """Weights across every tensor."""
    file_type: str | None
    """``Q4_K_M`` and the like; None when the header does not say."""
    name: str | None
    architecture: str | None


class _Reader:
    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self.handle = handle
        self.path = path

    def fail(self, what: str) -> CostauditError:
        return CostauditError(f"{self.path}: not a readable GGUF file: {what}")

    def take(self, size: int) -> bytes:
        data = self.handle.read(size)
        if len(data) != size:
            raise self.fail("the header ends early")
        return data

    def scalar(self, kind: int) -> object:
        fmt = _SCALARS[kind]
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.take(8))[0])

    def string(self) -> str:
        length = self.u64()
        if length > 1 << 24:
            raise self.fail(f"a string of {length} bytes")
        return self.take(length).decode("utf-8", errors="replace")

    def value(self, kind: int) -> object:
        if kind in _SCALARS:
            return self.scalar(kind)
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            inner, count = self.u32(), self.u64()
            self.skip_array(inner, count)
            return None
        raise self.fail(f"unknown metadata value type {kind}")

    def skip_array(self, kind: int, count: int) -> None:
        """Arrays (a tokenizer's vocabulary) are not needed: pass over them."""
        if kind in _SCALARS:
            self.take(struct.calcsize(_SCALARS[kind]) * count)
            return
        for _ in range(count):
            self.value(kind)


def _metadata(reader: _Reader, count: int) -> dict[str, object]:
    found: dict[str, object] = {}
    for _ in range(count):
        key = reader.string()
        found[key] = reader.value(reader.u32())
    return found


def _parameters(reader: _Reader, count: int) -> int:
    total = 0
    for _ in range(count):
        reader.string()
        dims = reader.u32()
        if dims > 8:
            raise reader.fail(f"a tensor of {dims} dimensions")
        total += math.prod(reader.u64() for _ in range(dims))
        reader.take(12)  # the tensor type (uint32) and data offset (uint64)
    return total


def _read(reader: _Reader) -> tuple[dict[str, object], int]:
    if reader.handle.read(4) != MAGIC:
        raise reader.fail("it does not start with 'GGUF'")
    version = reader.u32()
    if version not in SUPPORTED_VERSIONS:
        raise reader.fail(f"GGUF version {version} (versions 2 and 3 are read)")
    tensors, entries = reader.u64(), reader.u64()
    metadata = _metadata(reader, entries)
    return metadata, _parameters(reader, tensors)


def read_gguf(path: Path) -> GgufInfo:
    """The header facts of the GGUF file at ``path``."""
    try:
        with path.open("rb") as handle:
            metadata, parameters = _read(_Reader(handle, path))
            size = path.stat().st_size
    except OSError as exc:
        raise CostauditError(
            f"{path}: cannot read the model file: {exc.strerror}"
        ) from exc
    if parameters <= 0:
        raise CostauditError(f"{path}: the GGUF header lists no weights")
    ftype = metadata.get("general.file_type")
    name, arch = metadata.get("general.name"), metadata.get("general.architecture")
    return GgufInfo(
        path=path,
        size_bytes=size,
        parameters=parameters,
        file_type=FILE_TYPES.get(ftype) if isinstance(ftype, int) else None,
        name=name if isinstance(name, str) else None,
        architecture=arch if isinstance(arch, str) else None,
    )
