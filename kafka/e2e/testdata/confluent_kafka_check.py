"""Checks a Kafka listener with confluent-kafka-python (librdkafka).

Usage: confluent_kafka_check.py BOOTSTRAP IDEM_TOPIC GROUP_TOPIC TXN_TOPIC

The topics exist already (IDEM_TOPIC with 3 partitions, GROUP_TOPIC with
4, TXN_TOPIC with 1). Prints "ok <check>" for every check that passed and
exits 0; on the first failure prints "FAIL <check>: <why>" and exits 1.
"""

import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

DEADLINE_S = 30


class Failed(Exception):
    pass


def deliveries(producer):
    """Returns a delivery callback and the list of errors it records."""
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)

    return on_delivery, errors


def read_until(consumer, want, check):
    """Polls consumer until want messages arrived; returns their values."""
    got = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < want:
        if time.monotonic() > deadline:
            raise Failed("%s: read %d of %d messages: %r" % (check, len(got), want, got[-5:]))
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            raise Failed("%s: consume error %s" % (check, msg.error()))
        got.append((msg.partition(), msg.value().decode()))
    return got


def check_idempotence(bootstrap, topic):
    n = 300
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                  "linger.ms": 5, "compression.type": "lz4"})
    on_delivery, errors = deliveries(p)
    for i in range(n):
        p.produce(topic, key=b"k%d" % (i % 10), value=b"%d" % i, on_delivery=on_delivery)
        p.poll(0)
    left = p.flush(DEADLINE_S)
    if left or errors:
        raise Failed("idempotence: %d undelivered, errors %r" % (left, errors[:3]))
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-idem-reader",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, part, 0) for part in range(3)])
    got = read_until(c, n, "idempotence")
    c.close()
    values = sorted(int(v) for _, v in got)
    if values != list(range(n)):
        raise Failed("idempotence: read %d messages, not each of %d once" % (len(values), n))
    print("ok idempotence: %d messages, each once" % n)


def check_group(bootstrap, topic):
    partitions = 4
    owned = [set(), set()]

    def on_assign(i):
        def cb(consumer, parts):
            owned[i] = {tp.partition for tp in parts}
        return cb

    def on_revoke(i):
        def cb(consumer, parts):
            owned[i] = set()
        return cb

    members = []
    for i in range(2):
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-group", "auto.offset.reset": "earliest",
                      "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
        c.subscribe([topic], on_assign=on_assign(i), on_revoke=on_revoke(i))
        members.append(c)
    deadline = time.monotonic() + DEADLINE_S
    while not (owned[0] and owned[1] and owned[0] | owned[1] == set(range(partitions))):
        if time.monotonic() > deadline:
            raise Failed("group: partitions not split between the members: %r" % owned)
        for c in members:
            msg = c.poll(0.1)
            if msg is not None and not msg.error():
                raise Failed("group: message before anything was produced")
    if owned[0] & owned[1]:
        raise Failed("group: a partition has two owners: %r" % owned)

    n = 200
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    on_delivery, errors = deliveries(p)
    for i in range(n):
        p.produce(topic, key=b"key-%d" % i, value=b"%d" % i, on_delivery=on_delivery)
    if p.flush(DEADLINE_S) or errors:
        raise Failed("group: produce failed: %r" % errors[:3])

    seen = {}
    by_member = [0, 0]
    deadline = time.monotonic() + DEADLINE_S
    while len(seen) < n:
        if time.monotonic() > deadline:
            raise Failed("group: read %d of %d (per member %r)" % (len(seen), n, by_member))
        for i, c in enumerate(members):
            msg = c.poll(0.1)
            if msg is None:
                continue
            if msg.error():
                raise Failed("group: consume error %s" % msg.error())
            if msg.partition() not in owned[i]:
                raise Failed("group: member %d read partition %d it does not own (%r)" % (i, msg.partition(), owned))
            v = msg.value().decode()
            if v in seen:
                raise Failed("group: message %s read twice" % v)
            seen[v] = i
            by_member[i] += 1
    split = [sorted(o) for o in owned]
    for c in members:
        c.close()
    if not by_member[0] or not by_member[1]:
        raise Failed("group: one member received nothing: %r" % by_member)
    print("ok group: %d messages split %d/%d, partitions %r / %r" % (n, by_member[0], by_member[1], split[0], split[1]))


def check_transactions(bootstrap, topic):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "py-txn", "transaction.timeout.ms": 30000})
    p.init_transactions(DEADLINE_S)
    plan = [("c1", True), ("a", False), ("c2", True)]
    for prefix, commit in plan:
        p.begin_transaction()
        for i in range(5):
            p.produce(topic, value=b"%s-%d" % (prefix.encode(), i))
        if commit:
            p.commit_transaction(DEADLINE_S)
        else:
            p.flush(DEADLINE_S)
            p.abort_transaction(DEADLINE_S)
    want = {
        "read_committed": ["%s-%d" % (x, i) for x in ("c1", "c2") for i in range(5)],
        "read_uncommitted": ["%s-%d" % (x, i) for x in ("c1", "a", "c2") for i in range(5)],
    }
    for isolation, values in want.items():
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-txn-" + isolation,
                      "isolation.level": isolation, "enable.auto.commit": False})
        c.assign([TopicPartition(topic, 0, 0)])
        # The aborted records lie between the committed ones, so reading
        # exactly the expected values in order proves none was returned.
        got = [v for _, v in read_until(c, len(values), "transactions " + isolation)]
        c.close()
        if got != values:
            raise Failed("transactions: %s read %r, want %r" % (isolation, got, values))
        print("ok transactions %s: %d messages" % (isolation, len(got)))


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    bootstrap, idem, group, txn = argv[1:]
    try:
        for check, topic in ((check_idempotence, idem), (check_group, group), (check_transactions, txn)):
            start = time.monotonic()
            check(bootstrap, topic)
            print("  %s took %.1f s" % (check.__name__, time.monotonic() - start))
    except (Failed, KafkaException) as e:
        print("FAIL %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
