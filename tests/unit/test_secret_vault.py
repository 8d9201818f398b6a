"""Unit tests of the envelope-encryption vault, key rotation and master-key loading."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import pickle
import stat
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from adapters.data_keys import DataKeyStore, WrappedKey
from adapters.key_rotation import rotate_master_key
from adapters.master_key import (
    MasterKey,
    MasterKeyError,
    load_master_key,
    read_key_file,
    write_key_file,
)
from adapters.secret_vault import EnvelopeSecretVault
from domain.errors import SecretUnavailable

SECRET = "hunter2-correct-horse-battery-staple"


class FakeDataKeyStore(DataKeyStore):
    """Dict-backed store with the same semantics as the SQL backends."""

    def __init__(self) -> None:
        self.rows: dict[UUID, WrappedKey] = {}
        self._lock = threading.Lock()

    def create_table(self) -> None:
        pass

    def get(self, job_id: UUID) -> WrappedKey | None:
        return self.rows.get(job_id)

    def create_if_absent(self, job_id: UUID, wrapped: bytes, master_key_id: str) -> WrappedKey:
        with self._lock:
            return self.rows.setdefault(
                job_id, WrappedKey(job_id, wrapped, master_key_id, datetime.now(UTC))
            )

    def destroy(self, job_id: UUID) -> None:
        with self._lock:
            now = datetime.now(UTC)
            old = self.rows.get(job_id)
            created, shredded = (old.created_at, old.shredded_at or now) if old else (now, now)
            self.rows[job_id] = WrappedKey(job_id, None, None, created, shredded)

    def all(self) -> Iterator[WrappedKey]:
        for job_id in sorted(self.rows, key=str):
            yield self.rows[job_id]

    def replace_wrapped(
        self,
        job_id: UUID,
        wrapped: bytes,
        master_key_id: str,
        *,
        expected_master_key_id: str | None = None,
    ) -> bool:
        with self._lock:
            row = self.rows.get(job_id)
            if row is None or row.wrapped is None:
                return False
            if expected_master_key_id not in (None, row.master_key_id):
                return False
            self.rows[job_id] = replace(row, wrapped=wrapped, master_key_id=master_key_id)
            return True


@pytest.fixture
def store() -> FakeDataKeyStore:
    return FakeDataKeyStore()


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture
def vault(store: FakeDataKeyStore, master: MasterKey) -> EnvelopeSecretVault:
    return EnvelopeSecretVault(store, master)


def _unavailable(excinfo: pytest.ExceptionInfo[SecretUnavailable]) -> str:
    return excinfo.value.reason


# --- encryption ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [SECRET, "", "ünïcødé ✓ 🔑", "x" * 10_000])
def test_round_trip(vault: EnvelopeSecretVault, value: str) -> None:
    job = uuid4()
    assert vault.decrypt(job, "TOKEN", vault.encrypt(job, "TOKEN", value)) == value


def test_ciphertext_is_ascii_json_safe_and_differs_each_time(vault: EnvelopeSecretVault) -> None:
    job = uuid4()
    first, second = vault.encrypt(job, "TOKEN", SECRET), vault.encrypt(job, "TOKEN", SECRET)
    assert first != second
    for ct in (first, second):
        assert ct.startswith("v1.") and ct.isascii()
        assert json.loads(json.dumps({"c": ct}, ensure_ascii=True))["c"] == ct
        assert SECRET not in ct
        assert vault.decrypt(job, "TOKEN", ct) == SECRET


def test_each_job_has_its_own_data_key_stored_only_wrapped(
    vault: EnvelopeSecretVault, store: FakeDataKeyStore, master: MasterKey
) -> None:
    a, b = uuid4(), uuid4()
    vault.encrypt(a, "K", SECRET)
    vault.encrypt(b, "K", SECRET)
    vault.encrypt(a, "OTHER", SECRET)  # reuses a's key
    assert set(store.rows) == {a, b}
    key_a = master.unwrap(a, store.rows[a].wrapped or b"")
    key_b = master.unwrap(b, store.rows[b].wrapped or b"")
    assert len(key_a) == 32 and key_a != key_b
    assert key_a not in (store.rows[a].wrapped or b"")
    assert store.rows[a].master_key_id == master.key_id


def _tamper(ct: str) -> list[str]:
    body = ct[3:]
    flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    return ["v1." + flipped, ct[:-4], "v2." + body, "v1.", "v1.!!!!", "", ct + "AAAA"]


def test_tampered_ciphertext_fails(vault: EnvelopeSecretVault) -> None:
    job = uuid4()
    ct = vault.encrypt(job, "TOKEN", SECRET)
    for bad in _tamper(ct):
        with pytest.raises(SecretUnavailable) as excinfo:
            vault.decrypt(job, "TOKEN", bad)
        assert "malformed, altered" in excinfo.value.reason


def test_ciphertext_moved_to_another_job_or_name_fails(vault: EnvelopeSecretVault) -> None:
    job, other = uuid4(), uuid4()
    ct = vault.encrypt(job, "TOKEN", SECRET)
    vault.encrypt(other, "TOKEN", "other job's secret")  # so `other` has a data key
    with pytest.raises(SecretUnavailable):
        vault.decrypt(other, "TOKEN", ct)
    with pytest.raises(SecretUnavailable):
        vault.decrypt(job, "PASSWORD", ct)
    with pytest.raises(SecretUnavailable):
        vault.decrypt(job, "TOKEN ", ct)


def test_wrapped_key_copied_to_another_job_does_not_unwrap(
    vault: EnvelopeSecretVault, store: FakeDataKeyStore
) -> None:
    job, other = uuid4(), uuid4()
    ct = vault.encrypt(job, "TOKEN", SECRET)
    store.rows[other] = replace(store.rows[job], job_id=other)
    with pytest.raises(SecretUnavailable):
        EnvelopeSecretVault(store, vault._master).decrypt(other, "TOKEN", ct)


def test_decrypt_for_a_job_without_a_key_fails(vault: EnvelopeSecretVault) -> None:
    with pytest.raises(SecretUnavailable, match="no data key"):
        vault.decrypt(uuid4(), "TOKEN", "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")


def test_concurrent_first_encrypts_share_one_data_key(vault: EnvelopeSecretVault) -> None:
    job, barrier = uuid4(), threading.Barrier(8)
    results: list[str] = []

    def worker(i: int) -> None:
        barrier.wait()
        results.append(vault.encrypt(job, "K", f"v{i}"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fresh = EnvelopeSecretVault(vault._store, vault._master)
    assert sorted(fresh.decrypt(job, "K", ct) for ct in results) == [f"v{i}" for i in range(8)]


# --- shredding ----------------------------------------------------------------------------


def test_shred_makes_decrypt_fail_and_refuses_later_encrypt(
    vault: EnvelopeSecretVault, store: FakeDataKeyStore, master: MasterKey
) -> None:
    job, other = uuid4(), uuid4()
    ct = vault.encrypt(job, "TOKEN", SECRET)
    other_ct = vault.encrypt(other, "TOKEN", SECRET)
    assert vault.decrypt(job, "TOKEN", ct) == SECRET  # now cached
    vault.shred(job)
    for v in (vault, EnvelopeSecretVault(store, master)):  # same process (cache) and a fresh one
        with pytest.raises(SecretUnavailable) as excinfo:
            v.decrypt(job, "TOKEN", ct)
        assert excinfo.value.reason == "its job's data key was destroyed"
        assert (excinfo.value.job_id, excinfo.value.name) == (job, "TOKEN")
        with pytest.raises(SecretUnavailable, match="destroyed"):
            v.encrypt(job, "TOKEN", "new value")
        assert v.decrypt(other, "TOKEN", other_ct) == SECRET  # other jobs unaffected
    assert store.rows[job].wrapped is None and store.rows[job].shredded_at is not None
    vault.shred(job)  # idempotent


def test_shred_of_a_job_that_never_had_secrets_still_refuses_encrypt(
    vault: EnvelopeSecretVault,
) -> None:
    job = uuid4()
    vault.shred(job)
    with pytest.raises(SecretUnavailable, match="destroyed"):
        vault.encrypt(job, "TOKEN", SECRET)


def test_shred_by_another_process_is_seen_once_the_cache_expires(
    store: FakeDataKeyStore, master: MasterKey
) -> None:
    job = uuid4()
    vault = EnvelopeSecretVault(store, master, cache_ttl=0.0)
    ct = vault.encrypt(job, "TOKEN", SECRET)
    EnvelopeSecretVault(store, master).shred(job)  # "another process"
    with pytest.raises(SecretUnavailable, match="destroyed"):
        vault.decrypt(job, "TOKEN", ct)


def test_cache_is_bounded(store: FakeDataKeyStore, master: MasterKey) -> None:
    vault = EnvelopeSecretVault(store, master, cache_size=3)
    for _ in range(10):
        vault.encrypt(uuid4(), "K", SECRET)
    assert len(vault._cache) == 3


# --- wrong master key and rotation --------------------------------------------------------


def test_wrong_master_key_fails_clearly(
    vault: EnvelopeSecretVault, store: FakeDataKeyStore
) -> None:
    job = uuid4()
    ct = vault.encrypt(job, "TOKEN", SECRET)
    wrong = EnvelopeSecretVault(store, MasterKey.generate())
    with pytest.raises(SecretUnavailable) as excinfo:
        wrong.decrypt(job, "TOKEN", ct)
    assert excinfo.value.reason == "the master key does not match"
    with pytest.raises(MasterKeyError, match="JOBLEDGER_MASTER_KEY"):
        wrong.verify_master_key()
    vault.verify_master_key()  # the right key passes


def test_rotation_rewraps_and_old_ciphertexts_decrypt_under_new_key(
    vault: EnvelopeSecretVault, store: FakeDataKeyStore, master: MasterKey
) -> None:
    jobs = [uuid4() for _ in range(5)]
    cts = {job: vault.encrypt(job, "TOKEN", f"s-{job}") for job in jobs}
    vault.shred(jobs[0])
    new = MasterKey.generate()
    before = {job: store.rows[job].wrapped for job in jobs}

    assert rotate_master_key(store, master, new) == 4
    assert rotate_master_key(store, master, new) == 0  # resumable: nothing left to do

    rotated = EnvelopeSecretVault(store, new)
    rotated.verify_master_key()
    for job in jobs[1:]:
        assert store.rows[job].wrapped != before[job]
        assert rotated.decrypt(job, "TOKEN", cts[job]) == f"s-{job}"
        with pytest.raises(SecretUnavailable, match="master key does not match"):
            EnvelopeSecretVault(store, master).decrypt(job, "TOKEN", cts[job])
    with pytest.raises(SecretUnavailable, match="destroyed"):
        rotated.decrypt(jobs[0], "TOKEN", cts[jobs[0]])


def test_interrupted_rotation_resumes(
    vault: EnvelopeSecretVault, store: FakeDataKeyStore, master: MasterKey
) -> None:
    jobs = [uuid4() for _ in range(6)]
    cts = {job: vault.encrypt(job, "K", SECRET) for job in jobs}
    new = MasterKey.generate()

    class Crashing(FakeDataKeyStore):
        calls = 0

        def replace_wrapped(self, *args: object, **kwargs: object) -> bool:
            self.calls += 1
            if self.calls > 2:
                raise KeyboardInterrupt  # the process dies mid-rotation
            return super().replace_wrapped(*args, **kwargs)  # type: ignore[arg-type]

    crashing = Crashing()
    crashing.rows = store.rows
    with pytest.raises(KeyboardInterrupt):
        rotate_master_key(crashing, master, new)
    assert sum(r.master_key_id == new.key_id for r in store.rows.values()) == 2
    assert rotate_master_key(store, master, new) == 4
    assert all(EnvelopeSecretVault(store, new).decrypt(j, "K", cts[j]) == SECRET for j in jobs)


def test_rotation_refuses_a_row_under_an_unknown_key_and_a_same_key_rotation(
    vault: EnvelopeSecretVault, store: FakeDataKeyStore, master: MasterKey
) -> None:
    vault.encrypt(uuid4(), "K", SECRET)
    with pytest.raises(MasterKeyError, match="neither the old"):
        rotate_master_key(store, MasterKey.generate(), MasterKey.generate())
    with pytest.raises(MasterKeyError, match="same"):
        rotate_master_key(store, master, MasterKey(master._key))


# --- nothing secret in reprs, errors or logs ----------------------------------------------


def _forbidden(master: MasterKey, store: FakeDataKeyStore, cts: list[str]) -> list[str]:
    raw = master._key
    out = [SECRET, master.to_text(), base64.b64encode(raw).decode(), raw.hex(), repr(raw)]
    for row in store.rows.values():
        if row.wrapped:
            data_key = master.unwrap(row.job_id, row.wrapped)
            out += [data_key.hex(), repr(data_key), repr(row.wrapped), row.wrapped.hex()]
    return out + cts + [ct[3:] for ct in cts]


def test_reprs_errors_and_logs_never_contain_secrets_or_key_material(
    vault: EnvelopeSecretVault,
    store: FakeDataKeyStore,
    master: MasterKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    job = uuid4()
    ct = vault.encrypt(job, "TOKEN", SECRET)
    texts = [repr(master), str(master), repr(vault), str(vault), repr(store.rows[job])]
    errors: list[BaseException] = []
    for attempt in (
        lambda: EnvelopeSecretVault(store, MasterKey.generate()).decrypt(job, "TOKEN", ct),
        lambda: vault.decrypt(job, "OTHER", ct),
        lambda: vault.decrypt(uuid4(), "TOKEN", ct),
        lambda: vault.decrypt(job, "TOKEN", ct[:-3]),
        lambda: rotate_master_key(store, MasterKey.generate(), MasterKey.generate()),
        lambda: EnvelopeSecretVault(store, MasterKey.generate()).verify_master_key(),
        lambda: pickle.dumps(master),
        lambda: pickle.dumps(vault),
    ):
        with pytest.raises(Exception) as excinfo:  # noqa: B017 - any error, checked below
            attempt()
        errors.append(excinfo.value)
    forbidden = _forbidden(master, store, [ct])
    vault.shred(job)
    with pytest.raises(SecretUnavailable) as excinfo:
        vault.decrypt(job, "TOKEN", ct)
    errors.append(excinfo.value)
    for err in errors:
        texts += [str(err), repr(err), str(err.__cause__), str(err.__context__)]
    texts.append(caplog.text)
    for text in texts:
        for bad in forbidden:
            assert bad not in text


def test_malformed_master_key_error_names_the_variable_without_echoing_it() -> None:
    good = MasterKey(bytes(range(32))).to_text()
    assert "A" in good
    for bad in (good[:-2], good + "AAAA", "not a key at all!", good.replace("A", "*")):
        with pytest.raises(MasterKeyError) as excinfo:
            MasterKey.from_text(bad)
        message = str(excinfo.value)
        assert "JOBLEDGER_MASTER_KEY" in message
        assert bad not in message and bad.strip("=")[:20] not in message
        assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__


# --- master key text and files ------------------------------------------------------------


def test_master_key_accepts_base64url_and_standard_base64() -> None:
    raw = bytes(range(224, 256))  # encodes with "+" / "/" in standard base64
    expected = hashlib.sha256(raw).hexdigest()[:16]
    std, url = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    assert std != url
    for text in (std, url, url.rstrip("="), f"  {std}\n"):
        key = MasterKey.from_text(text)
        assert key.key_id == expected and key == MasterKey(raw)
    assert MasterKey.from_text(MasterKey(raw).to_text()) == MasterKey(raw)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_creates_a_0600_key_file_announced_once_then_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"
    said: list[str] = []
    key = load_master_key(None, data_dir, said.append)
    path = data_dir / "master.key"
    assert _mode(path) == 0o600
    assert said == [
        f"Created a new master key at {path} (mode 0600). "
        "Back it up: without it the stored secrets cannot be decrypted."
    ]
    assert load_master_key(None, data_dir, said.append) == key
    assert load_master_key("", data_dir, said.append) == key  # empty counts as unset
    assert len(said) == 1
    assert [p.name for p in data_dir.iterdir()] == ["master.key"]  # no temp files left


def test_key_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_master_key(None, tmp_path, lambda _: None)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "master.key") == 0o600


def test_concurrent_first_starts_agree_on_one_key_and_announce_once(tmp_path: Path) -> None:
    said: list[str] = []
    keys: list[MasterKey] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        keys.append(load_master_key(None, tmp_path, said.append))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len({k.key_id for k in keys}) == 1
    assert len(said) == 1


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_key_file_accessible_by_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    load_master_key(None, tmp_path, lambda _: None)
    path = tmp_path / "master.key"
    path.chmod(mode)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        load_master_key(None, tmp_path, lambda _: None)
    with pytest.raises(MasterKeyError, match="group or others"):
        load_master_key(str(path), tmp_path / "unused", lambda _: None)


def test_env_value_may_be_the_key_or_a_path_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = MasterKey.generate()
    path = tmp_path / "k.key"
    write_key_file(path, key)
    monkeypatch.chdir(tmp_path)
    unused = tmp_path / "unused"
    for value in (key.to_text(), str(path), f"file:{path}", f"file://{path}", "./k.key", "k.key"):
        assert load_master_key(value, unused, lambda _: pytest.fail("announced")) == key
    assert not unused.exists()  # never falls back to creating a key


def test_a_standard_base64_key_starting_with_slash_is_a_key_not_a_path(tmp_path: Path) -> None:
    raw = b"\xfc" + bytes(31)
    text = base64.b64encode(raw).decode()
    assert text.startswith("/")
    assert load_master_key(text, tmp_path, lambda _: None) == MasterKey(raw)


def test_env_path_to_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.key"
    for value in (str(missing), f"file:{missing}"):
        with pytest.raises(MasterKeyError, match="does not exist"):
            load_master_key(value, tmp_path, lambda _: None)
    with pytest.raises(MasterKeyError, match="JOBLEDGER_MASTER_KEY"):
        load_master_key("garbage-not-a-key", tmp_path, lambda _: None)


def test_malformed_key_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text("sixteen-byte-key\n")
    path.chmod(0o600)
    with pytest.raises(MasterKeyError) as excinfo:
        load_master_key(None, tmp_path, lambda _: None)
    assert str(path) in str(excinfo.value) and "sixteen" not in str(excinfo.value)


def test_write_key_file_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "new.key"
    first, second = MasterKey.generate(), MasterKey.generate()
    write_key_file(path, first)
    assert _mode(path) == 0o600 and read_key_file(path) == first
    with pytest.raises(FileExistsError):
        write_key_file(path, second)
    assert read_key_file(path) == first
    write_key_file(path, second, overwrite=True)
    assert _mode(path) == 0o600 and read_key_file(path) == second
