"""The file system provider over the host's files, FileInfo/DirectoryInfo, ``[System.IO.File]`` and
``[System.IO.Path]``.

Sources: about_FileSystem_Provider, the System.IO.File / Path / FileInfo API pages. Paths are
case-insensitive; drive roots exist; UNC paths name a file copied to the host like any other.
Modelled: existence, reading and writing bytes and text (``ReadAllText`` detects a UTF-8 or
UTF-16 byte order mark), directories. Not modelled: ACLs, attributes, timestamps.
"""

from __future__ import annotations

import ntpath
import random
import string
from typing import Any

from . import convert as C
from .dotnet import ByteArray, Encoding
from .errors import PSUnsupported, error
from .types import PSType, register
from .values import NetObject, is_null


def is_fs_path(text: str) -> bool:
    path = text.replace("/", "\\")
    return path.startswith("\\\\") or (len(path) >= 2 and path[1] == ":" and path[0].isalpha())


def full_path(text: str) -> str:
    path = text.replace("/", "\\")
    if path.lower().startswith("microsoft.powershell.core\\filesystem::"):
        path = path[len("microsoft.powershell.core\\filesystem::") :]
    if not is_fs_path(path):
        raise PSUnsupported("", 0, "the relative path %r (no current location is modelled)" % text)
    normed = ntpath.normpath(path)
    if len(normed) == 2 and normed[1] == ":":
        normed += "\\"
    return normed


#: Directories every Windows installation has (the host's file table holds only what changed).
SYSTEM_DIRS = frozenset(
    p.lower()
    for p in (
        "C:\\Windows", "C:\\Windows\\System32", "C:\\Windows\\SysWOW64", "C:\\Windows\\Temp",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0", "C:\\Program Files", "C:\\Program Files (x86)",
        "C:\\ProgramData", "C:\\Users", "C:\\Users\\Public",
    )
)  # fmt: skip


def _profile_dirs(host: Any) -> set[str]:
    user = str((host.state.get("credentials") or {}).get("username") or "ansible").rsplit("\\", 1)[-1]
    base = "c:\\users\\%s" % user.lower()
    return {base, base + "\\appdata", base + "\\appdata\\local", base + "\\appdata\\local\\temp"}


def exists(host: Any, path: str) -> bool:
    return is_dir(host, path) or host.path_exists(path)


def is_root(path: str) -> bool:
    return len(path) <= 3 and path[1:2] == ":"


def is_dir(host: Any, path: str) -> bool:
    low = path.rstrip("\\").lower()
    return is_root(path) or host.is_dir(path) or low in SYSTEM_DIRS or low in _profile_dirs(host)


def children(host: Any, path: str) -> list[str]:
    prefix = path.rstrip("\\").lower() + "\\"
    names = set()
    for existing in host.state.get("files", {}):
        if existing.startswith(prefix):
            names.add(existing[len(prefix) :].split("\\")[0])
    return [ntpath.join(path, n) for n in sorted(names)]


def _real_case(host: Any, path: str) -> str:
    return path


class FileSystemInfo(NetObject):
    def __init__(self, host: Any, path: str) -> None:
        self.host = host
        self.path = path

    def p_fullname(self) -> str:
        return self.path

    def p_name(self) -> str:
        return ntpath.basename(self.path.rstrip("\\")) or self.path

    def p_exists(self) -> bool:
        return exists(self.host, self.path)

    def p_pspath(self) -> str:
        return "Microsoft.PowerShell.Core\\FileSystem::" + self.path

    def p_pschildname(self) -> str:
        return self.p_name()

    def ps_to_string(self) -> str:
        return self.path


class FileInfo(FileSystemInfo):
    TYPE_NAMES = ("System.IO.FileInfo", "System.IO.FileSystemInfo", "System.Object")

    def p_length(self) -> int:
        data = self.host.read_file(self.path)
        if data is None:
            raise error(
                "Could not find file '%s'." % self.path,
                "FileNotFoundException",
                exc_type="System.IO.FileNotFoundException",
            )
        return len(data)

    def p_psiscontainer(self) -> bool:
        return False

    def p_extension(self) -> str:
        return ntpath.splitext(self.path)[1]

    def p_directoryname(self) -> str:
        return ntpath.dirname(self.path)


class DirectoryInfo(FileSystemInfo):
    TYPE_NAMES = ("System.IO.DirectoryInfo", "System.IO.FileSystemInfo", "System.Object")

    def p_psiscontainer(self) -> bool:
        return True


def item(host: Any, path: str) -> FileSystemInfo:
    return DirectoryInfo(host, path) if is_dir(host, path) else FileInfo(host, path)


def _not_found(path: str, directory: bool = False) -> Exception:
    if directory:
        return error(
            "Could not find a part of the path '%s'." % path,
            "DirectoryNotFoundException",
            exc_type="System.IO.DirectoryNotFoundException",
        )
    return error(
        "Could not find file '%s'." % path, "FileNotFoundException", exc_type="System.IO.FileNotFoundException"
    )


def read_bytes(host: Any, path: Any) -> bytes:
    p = full_path(C.to_string(path))
    if is_dir(host, p):
        raise error(
            "Access to the path '%s' is denied." % p,
            "UnauthorizedAccessException",
            exc_type="System.UnauthorizedAccessException",
        )
    data = host.read_file(p)
    if data is None:
        raise _not_found(p, not exists(host, ntpath.dirname(p)))
    return data


def decode_text(data: bytes) -> str:
    """``File.ReadAllText`` without an encoding: a byte order mark decides, UTF-8 otherwise."""
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le", errors="replace")
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", errors="replace")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    return data.decode("utf-8", errors="replace")


def write_bytes(host: Any, path: Any, data: bytes) -> None:
    p = full_path(C.to_string(path))
    parent = ntpath.dirname(p)
    if not is_dir(host, parent):
        raise _not_found(p, True)
    if is_dir(host, p):
        raise error(
            "Access to the path '%s' is denied." % p,
            "UnauthorizedAccessException",
            exc_type="System.UnauthorizedAccessException",
        )
    host.write_file(p, data)


def _write_all_text(ctx: Any, path: Any, text: Any, encoding: Any = None) -> Any:
    if encoding is None:
        encoding = Encoding("utf-8", False)
    if not isinstance(encoding, Encoding):
        raise PSUnsupported("", 0, "File.WriteAllText with a %s encoding" % C.type_name_of(encoding))
    write_bytes(ctx.rs.host, path, encoding.preamble() + C.to_string(text).encode(encoding.name))
    from .values import AUTOMATION_NULL

    return AUTOMATION_NULL


def _read_all_text(ctx: Any, path: Any, encoding: Any = None) -> str:
    data = read_bytes(ctx.rs.host, path)
    if encoding is not None:
        raise PSUnsupported("", 0, "File.ReadAllText with an explicit encoding")
    return decode_text(data)


def _temp_path(ctx: Any) -> str:
    temp = ctx.rs.env.get("TMP") or ctx.rs.env.get("TEMP") or r"C:\Windows\TEMP"
    return temp.rstrip("\\") + "\\"


def _path_arg(value: Any) -> str:
    if is_null(value):
        raise error(
            "Value cannot be null.\r\nParameter name: path",
            "ArgumentNullException",
            exc_type="System.ArgumentNullException",
        )
    return C.to_string(value)


register(
    PSType(
        "System.IO.File",
        static_methods={
            "ReadAllText": _read_all_text,
            "ReadAllBytes": lambda ctx, path: ByteArray(read_bytes(ctx.rs.host, path)),
            "WriteAllText": _write_all_text,
            "Exists": lambda ctx, path: (
                (not is_null(path)) and ctx.rs.host.read_file(full_path(C.to_string(path))) is not None
            ),
        },
    )
)
register(
    PSType(
        "System.IO.Path",
        static_methods={
            "GetFileName": lambda ctx, p: ntpath.basename(_path_arg(p)),
            "GetFileNameWithoutExtension": lambda ctx, p: ntpath.splitext(ntpath.basename(_path_arg(p)))[0],
            "GetExtension": lambda ctx, p: ntpath.splitext(_path_arg(p))[1],
            "GetDirectoryName": lambda ctx, p: ntpath.dirname(_path_arg(p)),
            "GetTempPath": _temp_path,
            "Combine": lambda ctx, *parts: ntpath.join(*[C.to_string(x) for x in parts]),
            "IsPathRooted": lambda ctx, p: ntpath.isabs(_path_arg(p)),
            "GetRandomFileName": lambda ctx: (
                "".join(random.choice(string.ascii_lowercase + string.digits) for _i in range(8))
                + "."
                + "".join(random.choice(string.ascii_lowercase + string.digits) for _i in range(3))
            ),
        },
    )
)
register(PSType("System.IO.FileInfo", check=lambda v: isinstance(v, FileInfo)))
register(PSType("System.IO.DirectoryInfo", check=lambda v: isinstance(v, DirectoryInfo)))
