"""Master-key rotation: rewrap every live data key under a new master key.

Only the small wrapped keys change; data keys, and so every ciphertext in every event,
stay as they are. Each row records its master key id, so an interrupted rotation is
resumed by running it again: rows already under the new key are skipped.
"""

from __future__ import annotations

from adapters.data_keys import DataKeyStore
from adapters.master_key import MasterKey, MasterKeyError


def rotate_master_key(store: DataKeyStore, old: MasterKey, new: MasterKey) -> int:
    """Rewrap all live data keys from `old` to `new`; return how many this call rewrapped.

    Stops with MasterKeyError at a row under a master key that is neither `old` nor `new`,
    or that does not unwrap under `old`; rows already rewrapped stay so, and a rerun
    resumes from where it left off.
    """
    if old.key_id == new.key_id:
        raise MasterKeyError("the new master key is the same as the old one")
    rewrapped = 0
    for row in store.all():
        if row.wrapped is None or row.master_key_id == new.key_id:
            continue  # shredded, or done by an earlier (interrupted) run
        if row.master_key_id != old.key_id:
            raise MasterKeyError(
                f"the data key of job {row.job_id} is under master key {row.master_key_id}, "
                f"which is neither the old ({old.key_id}) nor the new ({new.key_id})"
            )
        data_key = old.unwrap(row.job_id, row.wrapped)
        # Conditional on the old key id, so a row shredded (or rotated by a concurrent run)
        # since we read it is left alone rather than resurrected or double-wrapped.
        if store.replace_wrapped(
            row.job_id,
            new.wrap(row.job_id, data_key),
            new.key_id,
            expected_master_key_id=old.key_id,
        ):
            rewrapped += 1
    return rewrapped
