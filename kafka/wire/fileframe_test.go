package wire

import (
	"bytes"
	"io"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// memBatches are FileBatches held in memory.
type memBatches struct {
	b      []byte
	closed int
}

func (m *memBatches) Len() int64 { return int64(len(m.b)) }
func (m *memBatches) Copy(w io.Writer) (int64, error) {
	n, err := w.Write(m.b)
	return int64(n), err
}
func (m *memBatches) Close() error { m.closed++; return nil }

// fetchResponse builds a response with three partitions over two topics;
// batches of partition i are filler of size sizes[i].
func fetchResponse(version int16, sizes []int) *kmsg.FetchResponse {
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = version
	k := 0
	for _, name := range []string{"a", "bb"} {
		t := kmsg.NewFetchResponseTopic()
		t.Topic = name
		for p := int32(0); p < 2 && k < len(sizes); p++ {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition, rp.HighWatermark, rp.LastStableOffset = p, 1000+int64(k), 900
			at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
			at.ProducerID, at.FirstOffset = 7, 3
			rp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{at}
			rp.RecordBatches = bytes.Repeat([]byte{byte('x' + k)}, sizes[k])
			t.Partitions = append(t.Partitions, rp)
			k++
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// A file frame is byte for byte the frame of the same response with the
// batches in memory, at every Fetch version, whatever the batch sizes
// (the compact length prefix of flexible versions changes width).
func TestFileFrameMatchesAppendFrame(t *testing.T) {
	for v := int16(4); v <= 16; v++ {
		for _, sizes := range [][]int{{0, 10, 300}, {200_000, 0, 1}, {5, 5, 5}} {
			want := AppendFrame(nil, 42, fetchResponse(v, sizes))
			resp := fetchResponse(v, sizes)
			ff := &FileFetch{FetchResponse: resp, Files: map[*kmsg.FetchResponseTopicPartition]FileBatches{}}
			var mems []*memBatches
			for i := range resp.Topics {
				for j := range resp.Topics[i].Partitions {
					p := &resp.Topics[i].Partitions[j]
					if len(p.RecordBatches) > 0 {
						m := &memBatches{b: p.RecordBatches}
						mems = append(mems, m)
						ff.Files[p] = m
						p.RecordBatches = []byte{}
					}
				}
			}
			frame, _, err := AppendFileFrame(nil, 42, ff)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if _, err := frame.WriteTo(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("v%d sizes %v: file frame differs (%d vs %d bytes)", v, sizes, got.Len(), len(want))
			}
			if err := ff.Close(); err != nil {
				t.Fatal(err)
			}
			for _, m := range mems {
				if m.closed != 1 {
					t.Fatalf("closed %d times", m.closed)
				}
			}
		}
	}
}

// FuzzFileFrame: whatever the version, topic name, batch sizes and which
// partitions hold files, the file frame is the in-memory frame byte for
// byte.
func FuzzFileFrame(f *testing.F) {
	f.Add(uint8(12), "topic", uint32(10), uint32(0), uint32(300), uint8(5))
	f.Add(uint8(4), "", uint32(127), uint32(128), uint32(16383), uint8(7))
	f.Fuzz(func(t *testing.T, v uint8, topic string, s0, s1, s2 uint32, files uint8) {
		version := 4 + int16(v%9) // the served Fetch versions
		sizes := []int{int(s0 % 70_000), int(s1 % 70_000), int(s2 % 70_000)}
		build := func() *kmsg.FetchResponse {
			r := fetchResponse(version, sizes)
			r.Topics[0].Topic = topic
			return r
		}
		want := AppendFrame(nil, 7, build())
		resp := build()
		ff := &FileFetch{FetchResponse: resp, Files: map[*kmsg.FetchResponseTopicPartition]FileBatches{}}
		k := 0
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				p := &resp.Topics[i].Partitions[j]
				if files&(1<<k) != 0 {
					ff.Files[p] = &memBatches{b: p.RecordBatches}
					p.RecordBatches = []byte{}
				}
				k++
			}
		}
		frame, _, err := AppendFileFrame(nil, 7, ff)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := frame.WriteTo(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("v%d sizes %v files %b: file frame differs", version, sizes, files)
		}
	})
}
