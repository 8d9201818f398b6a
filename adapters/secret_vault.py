"""The SecretVault port (application.ports), by envelope encryption (AES-256-GCM).

Each job has its own random data key, stored only wrapped under the master key. A
secret's ciphertext is `v1.<base64url(nonce | AES-GCM ciphertext)>`, with the job id
and secret name as associated data, so it decrypts only for that job and that name.
Shredding destroys the job's data key, which makes every ciphertext of the job, in
every event ever written, unreadable.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
from collections import OrderedDict
from typing import NoReturn
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.data_keys import DataKeyStore
from adapters.master_key import MasterKey, MasterKeyError, WrongMasterKey
from domain.errors import SecretUnavailable

_PREFIX = "v1."
_NONCE_BYTES = 12
_TAG_BYTES = 16
_SECRET_AD_PREFIX = b"jobledger-secret-v1\x00"

DESTROYED = "its job's data key was destroyed"
WRONG_MASTER = "the master key does not match"
NO_KEY = "its job has no data key"
BAD_CIPHERTEXT = "the ciphertext is malformed, altered, or belongs to another job or name"


class EnvelopeSecretVault:
    """Encrypts and decrypts job secrets; implements application.ports.SecretVault.

    Its data keys live behind its own seam, adapters.data_keys.DataKeyStore (a table in
    SQLite or PostgreSQL), which only the vault and the key rotation use.

    Unwrapped data keys are cached in memory (bounded, and for `cache_ttl` seconds) so a
    run does not go to the database for each secret. Shredding drops the entry at once in
    this process; another process's cache forgets it within `cache_ttl`.
    """

    def __init__(
        self,
        store: DataKeyStore,
        master_key: MasterKey,
        *,
        cache_size: int = 256,
        cache_ttl: float = 300.0,
    ) -> None:
        self._store = store
        self._master = master_key
        self._cache_size = cache_size
        self._cache_ttl = cache_ttl
        self._cache: OrderedDict[UUID, tuple[AESGCM, float]] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by every shred: a key unwrapped before a shred must not enter the cache.
        self._epoch = 0

    def __repr__(self) -> str:
        return f"EnvelopeSecretVault(master_key_id={self._master.key_id!r}, store={self._store!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("an EnvelopeSecretVault is not picklable: it holds key material")

    def encrypt(self, job_id: UUID, name: str, value: str) -> str:
        aead = self._data_key(job_id, name, create=True)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = aead.encrypt(nonce, value.encode("utf-8"), _secret_ad(job_id, name))
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")

    def decrypt(self, job_id: UUID, name: str, ciphertext: str) -> str:
        aead = self._data_key(job_id, name, create=False)
        blob = _decode(ciphertext)
        if blob is None:
            raise SecretUnavailable(job_id, name, BAD_CIPHERTEXT)
        try:
            plain = aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _secret_ad(job_id, name))
        except InvalidTag:
            raise SecretUnavailable(job_id, name, BAD_CIPHERTEXT) from None
        return plain.decode("utf-8")

    def shred(self, job_id: UUID) -> None:
        self._store.destroy(job_id)
        with self._lock:
            self._cache.pop(job_id, None)
            self._epoch += 1

    def verify_master_key(self) -> None:
        """Fail fast at start if any live data key is under a different master key.

        Catches a wrong JOBLEDGER_MASTER_KEY, or a rotation that was interrupted and must
        be resumed, before any run needs a secret. Reads the whole table, page by page.
        """
        for row in self._store.all():
            if not row.shredded and row.master_key_id != self._master.key_id:
                raise MasterKeyError(
                    f"the master key (id {self._master.key_id}) is not the one the data key "
                    f"of job {row.job_id} is wrapped with (id {row.master_key_id}): set "
                    "JOBLEDGER_MASTER_KEY to the right key, or finish the key rotation"
                )

    def _data_key(self, job_id: UUID, name: str, *, create: bool) -> AESGCM:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(job_id)
            if cached is not None and cached[1] > now:
                self._cache.move_to_end(job_id)
                return cached[0]
            epoch = self._epoch
        row = self._store.get(job_id)
        if row is None:
            if not create:
                raise SecretUnavailable(job_id, name, NO_KEY)
            fresh = AESGCM.generate_key(bit_length=256)
            # A racing process may win; then its key, not ours, is the job's key.
            row = self._store.create_if_absent(
                job_id, self._master.wrap(job_id, fresh), self._master.key_id
            )
        if row.wrapped is None:
            raise SecretUnavailable(job_id, name, DESTROYED)
        if row.master_key_id != self._master.key_id:
            raise SecretUnavailable(job_id, name, WRONG_MASTER)
        try:
            aead = AESGCM(self._master.unwrap(job_id, row.wrapped))
        except WrongMasterKey:
            raise SecretUnavailable(job_id, name, WRONG_MASTER) from None
        with self._lock:
            if epoch == self._epoch:
                self._cache[job_id] = (aead, now + self._cache_ttl)
                self._cache.move_to_end(job_id)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return aead


def _secret_ad(job_id: UUID, name: str) -> bytes:
    # The job id is fixed-length, so (job, name) pairs cannot collide by concatenation.
    return _SECRET_AD_PREFIX + job_id.bytes + name.encode("utf-8")


def _decode(ciphertext: str) -> bytes | None:
    if not isinstance(ciphertext, str) or not ciphertext.startswith(_PREFIX):
        return None
    body = ciphertext[len(_PREFIX) :]
    try:
        padded = body + "=" * (-len(body) % 4)
        blob = base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    return blob if len(blob) >= _NONCE_BYTES + _TAG_BYTES else None
