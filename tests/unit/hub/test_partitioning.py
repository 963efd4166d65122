"""Stage outputs land on the partition the Java client and aiokafka would choose."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from hub.runtime import producer
from hub.runtime.producer import partition_for


@given(key=st.binary(min_size=0, max_size=64), count=st.integers(min_value=1, max_value=64))
def test_a_key_gets_the_default_partitioners_partition(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, partitions, partitions)


#: murmur2 values of the Java client (org.apache.kafka.common.utils.Utils.murmur2 test cases)
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("key", "java_hash"), JAVA_MURMUR2.items())
@pytest.mark.parametrize("count", [1, 3, 6, 12])
def test_the_java_clients_partition(key: bytes, java_hash: int, count: int) -> None:
    assert partition_for(key, list(range(count))) == (java_hash & 0x7FFFFFFF) % count


def test_the_cache_is_bounded_and_stays_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(producer, "MAX_CACHED_KEY_HASHES", 8)
    monkeypatch.setattr(producer, "_KEY_HASHES", {})
    keys = [f"order-{i}".encode() for i in range(50)]
    for key in keys * 2:
        assert partition_for(key, [0, 1, 2]) == DefaultPartitioner()(key, [0, 1, 2], [])
        assert len(producer._KEY_HASHES) <= 8
