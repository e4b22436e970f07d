package partitioner

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Vectors from Kafka's UtilsTest.testMurmur2.
func TestMurmur2KafkaVectors(t *testing.T) {
	cases := []struct {
		in   string
		want int32
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	}
	for _, c := range cases {
		if got := Murmur2([]byte(c.in)); got != c.want {
			t.Errorf("Murmur2(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// franz-go's StickyKeyPartitioner with its default hasher is Kafka's key
// partitioner; every key length modulo 4 and several partition counts must
// agree with it.
func TestKeyPartitionMatchesFranzGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kp := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	for i := 0; i < 5000; i++ {
		key := make([]byte, rng.IntN(40))
		for j := range key {
			key[j] = byte(rng.UintN(256))
		}
		n := 1 + rng.IntN(64)
		want := kp.Partition(&kgo.Record{Key: key}, n)
		if got := KeyPartition(key, n); got != want {
			t.Fatalf("KeyPartition(%x, %d) = %d, franz-go %d", key, n, got, want)
		}
	}
}

func TestKeyPartitionEmptyKeyIsHashed(t *testing.T) {
	// An empty key is a key (not null): Kafka hashes it.
	p := Default().ForTopic("t")
	want := KeyPartition([]byte{}, 7)
	for i := 0; i < 10; i++ {
		if got := p.Partition([]byte{}, 7); got != want {
			t.Fatalf("empty key went to %d, want %d", got, want)
		}
	}
}

func TestStickyStaysUntilBatchSealed(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := Default().ForTopic("t")
			first := p.Partition(nil, n)
			for i := 0; i < 100; i++ {
				if got := p.Partition(nil, n); got != first {
					t.Fatalf("record %d went to %d, sticky partition %d", i, got, first)
				}
			}
			// Sealing another partition's batch does not move it.
			p.OnBatchSealed((first + 1) % n)
			if n > 1 {
				if got := p.Partition(nil, n); got != first {
					t.Fatalf("moved to %d after an unrelated seal", got)
				}
			}
			p.OnBatchSealed(first)
			next := p.Partition(nil, n)
			if n > 1 && next == first {
				t.Fatalf("stayed on %d after its batch was sealed", first)
			}
			if n == 1 && next != 0 {
				t.Fatalf("single partition: got %d", next)
			}
		})
	}
}

func TestStickySpreadsOverPartitions(t *testing.T) {
	p := Sticky().ForTopic("t")
	seen := map[int]int{}
	for i := 0; i < 400; i++ {
		part := p.Partition(nil, 4)
		seen[part]++
		p.OnBatchSealed(part)
	}
	if len(seen) != 4 {
		t.Fatalf("sticky used partitions %v, want all 4", seen)
	}
}

func TestStickyShrinkingPartitionCount(t *testing.T) {
	p := Sticky().ForTopic("t")
	for i := 0; i < 50; i++ {
		if got := p.Partition(nil, 8); got < 0 || got >= 8 {
			t.Fatalf("out of range %d", got)
		}
		if got := p.Partition(nil, 2); got < 0 || got >= 2 {
			t.Fatalf("out of range %d for 2 partitions", got)
		}
		p.OnBatchSealed(p.Partition(nil, 2))
	}
}

func TestRoundRobinCycles(t *testing.T) {
	p := RoundRobin().ForTopic("t")
	for i := 0; i < 9; i++ {
		if got := p.Partition([]byte("k"), 3); got != i%3 {
			t.Fatalf("record %d: got %d", i, got)
		}
	}
}
