"""The master key: the one secret that wraps every job's data key.

It comes from JOBLEDGER_MASTER_KEY (the key itself, or a path to a file holding it) or,
when that is unset, from `<data_dir>/master.key`, created on first start. Nothing here
ever puts key material into an error message, a log line or a repr.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.errors import JobLedgerError

ENV_VAR = "JOBLEDGER_MASTER_KEY"
KEY_FILE_NAME = "master.key"
_KEY_BYTES = 32
_NONCE_BYTES = 12
# A version byte in front of each wrapped key leaves room for another format later.
_WRAP_VERSION = b"\x01"
# Domain-separates wrapped data keys from anything else this key might ever encrypt.
_WRAP_AD_PREFIX = b"jobledger-data-key-v1\x00"
# What a pasted key looks like; such a value is never echoed back in an error.
_KEYLIKE = re.compile(r"[A-Za-z0-9+/_=-]{40,46}")


class MasterKeyError(JobLedgerError):
    """The master key is missing, malformed, badly protected, or not the one in use."""


class WrongMasterKey(MasterKeyError):
    """A wrapped data key did not unwrap: a different master key, or an altered row."""

    def __init__(self, job_id: UUID, key_id: str) -> None:
        super().__init__(
            f"the data key of job {job_id} does not unwrap under master key {key_id}: "
            "wrong master key, or the stored key was altered"
        )
        self.job_id = job_id
        self.key_id = key_id


class MasterKey:
    """A 256-bit key that wraps and unwraps job data keys (AES-256-GCM)."""

    __slots__ = ("_aead", "_key", "_key_id")

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise MasterKeyError(f"a master key is {_KEY_BYTES} bytes, got {len(key)}")
        self._key = bytes(key)
        self._aead = AESGCM(self._key)
        # A public fingerprint: lets rows record which master wraps them without revealing it.
        self._key_id = hashlib.sha256(self._key).hexdigest()[:16]

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(_KEY_BYTES))

    @classmethod
    def from_text(cls, text: str, *, source: str = ENV_VAR) -> MasterKey:
        """Parse base64url or standard base64 (padding optional) of 32 bytes.

        `source` says where the text came from, for the error message; the text itself is
        never echoed, since a near-miss key is still mostly key.
        """
        cleaned = "".join(text.split()).rstrip("=").replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != _KEY_BYTES:
            raise MasterKeyError(
                f"{source} is not a valid master key: expected base64 of {_KEY_BYTES} random "
                f"bytes (for example the output of `openssl rand -base64 {_KEY_BYTES}`)"
            ) from None
        return cls(raw)

    @property
    def key_id(self) -> str:
        return self._key_id

    def to_text(self) -> str:
        """The key as base64url, the form written to key files."""
        return base64.urlsafe_b64encode(self._key).decode("ascii")

    def derive(self, purpose: bytes) -> bytes:
        """A 32-byte key for one purpose (HKDF-SHA256 with `purpose` as its info).

        Other uses (signing web sessions, say) get keys of their own, so the master key
        itself only ever wraps data keys and no derived key reveals another.
        """
        if not purpose:
            raise ValueError("a derived key needs a purpose")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=purpose)
        return hkdf.derive(self._key)

    def wrap(self, job_id: UUID, data_key: bytes) -> bytes:
        """Encrypt a data key, bound to its job so a wrapped key copied to another job fails."""
        nonce = os.urandom(_NONCE_BYTES)
        return _WRAP_VERSION + nonce + self._aead.encrypt(nonce, data_key, _wrap_ad(job_id))

    def unwrap(self, job_id: UUID, wrapped: bytes) -> bytes:
        body = wrapped[1:]
        if wrapped[:1] != _WRAP_VERSION or len(body) <= _NONCE_BYTES:
            raise WrongMasterKey(job_id, self._key_id)
        try:
            return self._aead.decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], _wrap_ad(job_id))
        except InvalidTag:
            raise WrongMasterKey(job_id, self._key_id) from None

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self._key_id!r})"  # str() falls back to this too

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MasterKey) and secrets.compare_digest(self._key, other._key)

    def __reduce__(self) -> NoReturn:
        # Pickling would copy the key into wherever the pickle goes (caches, queues, logs).
        raise TypeError("a MasterKey is not picklable")


def _wrap_ad(job_id: UUID) -> bytes:
    return _WRAP_AD_PREFIX + job_id.bytes


def load_master_key(
    env_value: str | None,
    data_dir: Path,
    announce: Callable[[str], None],
    *,
    create: bool = True,
) -> MasterKey:
    """The master key from JOBLEDGER_MASTER_KEY, or from (or newly into) data_dir/master.key.

    `announce` is called once, by the process that created a new key file, so the
    operator learns they must back it up. Without `create` a missing key file is an error:
    a new key would leave every stored secret undecryptable.
    """
    value = (env_value or "").strip()
    if not value:
        path = Path(data_dir) / KEY_FILE_NAME
        if not create and not path.exists():
            raise MasterKeyError(
                f"there is no master key file {path.absolute()}: set {ENV_VAR} to the key "
                "(or its file) the store's secrets are under, or JOBLEDGER_DATA_DIR to the "
                f"directory holding its {KEY_FILE_NAME}"
            )
        return _load_or_create(path, announce)
    if value.startswith("file://"):
        return read_key_file(Path(value[len("file://") :]))
    if value.startswith("file:"):
        return read_key_file(Path(value[len("file:") :]))
    with contextlib.suppress(OSError, ValueError):
        if Path(value).is_file():
            return read_key_file(Path(value))
    # Standard base64 may itself start with "/", so a value that parses as a key wins
    # over the "looks like a path" rule below.
    with contextlib.suppress(MasterKeyError):
        return MasterKey.from_text(value)
    if value.startswith(("/", "./")):
        shown = "(path not shown: it looks like a key)" if _KEYLIKE.fullmatch(value) else value
        raise MasterKeyError(f"{ENV_VAR} names a key file that does not exist: {shown}")
    return MasterKey.from_text(value)  # raises the malformed-key error


def read_key_file(path: Path) -> MasterKey:
    """Read a key file, refusing one that group or others can access."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise MasterKeyError(f"master key file {path} does not exist ({ENV_VAR})") from None
    if not stat.S_ISREG(mode):
        raise MasterKeyError(f"master key file {path} is not a regular file ({ENV_VAR})")
    if mode & 0o077:
        raise MasterKeyError(
            f"master key file {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`"
        )
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise MasterKeyError(f"cannot read master key file {path}: {exc.strerror}") from None
    return MasterKey.from_text(text, source=f"master key file {path} ({ENV_VAR})")


def write_key_file(path: Path, key: MasterKey, *, overwrite: bool = False) -> None:
    """Write `key` to a new file with mode 0600, durably and atomically.

    Refuses to replace an existing file unless `overwrite`: losing a master key loses
    every secret under it.
    """
    path = Path(path)
    tmp = _write_temp(path, key)
    try:
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_exclusive(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)


def _load_or_create(path: Path, announce: Callable[[str], None]) -> MasterKey:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        return read_key_file(path)
    key = MasterKey.generate()
    try:
        write_key_file(path, key)
    except FileExistsError:
        # Another process started at the same moment and won; use its key.
        return read_key_file(path)
    announce(
        f"Created a new master key at {path} (mode 0600). "
        "Back it up: without it the stored secrets cannot be decrypted."
    )
    return key


def _write_temp(path: Path, key: MasterKey) -> Path:
    # Written in full under a private name first, so no reader ever sees a half-written
    # key file; O_EXCL with mode 0600 means it is never readable by anyone else.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # in case the umask took bits we want; it never adds any
        os.write(fd, (key.to_text() + "\n").encode("ascii"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def _link_exclusive(tmp: Path, path: Path) -> None:
    """Give the complete temp file its final name, failing if that name exists (atomic)."""
    try:
        os.link(tmp, path)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
            raise  # FileExistsError included: the caller decides what losing the race means
        # A filesystem without hard links: fall back to creating the final name with O_EXCL.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, tmp.read_bytes())
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
