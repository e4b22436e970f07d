package local

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

func benchmarkCAS(b *testing.B, open func(b *testing.B) *Store, parallel bool) {
	st := open(b)
	defer st.Close()
	ctx := context.Background()
	value := make([]byte, 200)
	var n atomic.Int64
	b.ReportAllocs()
	if !parallel {
		for b.Loop() {
			if _, err := st.CAS(ctx, fmt.Sprintf("k/%d", n.Add(1)), value, 0); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism(8) // writers per CPU, as when a topic's states are written together
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := st.CAS(ctx, fmt.Sprintf("k/%d", n.Add(1)), value, 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func openFile(b *testing.B) *Store {
	st, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func openMemory(*testing.B) *Store { return OpenMemory() }

func BenchmarkStoreCASFile(b *testing.B)           { benchmarkCAS(b, openFile, false) }
func BenchmarkStoreCASFileParallel(b *testing.B)   { benchmarkCAS(b, openFile, true) }
func BenchmarkStoreCASMemory(b *testing.B)         { benchmarkCAS(b, openMemory, false) }
func BenchmarkStoreCASMemoryParallel(b *testing.B) { benchmarkCAS(b, openMemory, true) }
