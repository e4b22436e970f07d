package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/kafka/wire"
	"github.com/sluice-mq/sluice/storage/segment"
)

// countedRange is a segment.Range that reports its Close.
type countedRange struct {
	*segment.Range
	closed chan struct{}
	once   sync.Once
}

func (r *countedRange) Close() error {
	r.once.Do(func() { close(r.closed) })
	return r.Range.Close()
}

// fileHandler answers Fetch with a *wire.FileFetch of two partitions
// whose batches are ranges of one file, and Metadata at once. With hold,
// a Fetch answers only when its connection closes.
type fileHandler struct {
	path   string
	ranges [][2]int64 // pos, size per partition
	hold   bool
	opened chan *countedRange
}

func (h *fileHandler) Handle(ctx context.Context, req *wire.Request) func() kmsg.Response {
	return func() kmsg.Response {
		if _, ok := req.Body.(*kmsg.FetchRequest); !ok {
			resp := kmsg.NewPtrMetadataResponse()
			resp.SetVersion(req.Version)
			return resp
		}
		if h.hold {
			<-ctx.Done()
		}
		resp := kmsg.NewPtrFetchResponse()
		resp.SetVersion(req.Version)
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = "t"
		for i := range h.ranges {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition, rp.HighWatermark = int32(i), 100
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = []kmsg.FetchResponseTopic{rt}
		ff := &wire.FileFetch{FetchResponse: resp, Files: map[*kmsg.FetchResponseTopicPartition]wire.FileBatches{}}
		for i, r := range h.ranges {
			f, err := os.Open(h.path)
			if err != nil {
				panic(err)
			}
			cr := &countedRange{Range: &segment.Range{File: f, Pos: r[0], Size: r[1]}, closed: make(chan struct{})}
			ff.Files[&resp.Topics[0].Partitions[i]] = cr
			h.opened <- cr
		}
		return ff
	}
}

func fetchFrame(corr int32, version int16) []byte {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(version)
	return kmsg.NewRequestFormatter().AppendRequest(nil, req, corr)
}

// readFrame reads one response frame and returns it without its length.
func readFrame(t *testing.T, nc io.Reader) []byte {
	t.Helper()
	var l [4]byte
	if _, err := io.ReadFull(nc, l[:]); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint32(l[:]))
	if _, err := io.ReadFull(nc, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func testFile(t *testing.T) (string, []byte) {
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(i * 31)
	}
	path := filepath.Join(t.TempDir(), "00000000000000000000.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// TestFileFetchSentInOrder: a Fetch answered with file ranges goes out
// between pipelined requests' answers, in request order, with the files'
// bytes where the batches belong (flexible and not), and its files are
// closed after the send.
func TestFileFetchSentInOrder(t *testing.T) {
	path, data := testFile(t)
	h := &fileHandler{path: path, ranges: [][2]int64{{10, 200_000}, {250_000, 777}}, opened: make(chan *countedRange, 16)}
	addr := start(t, h, Config{})
	nc := dial(t, addr)
	for _, version := range []int16{11, 12} {
		var out []byte
		out = append(out, metadataFrame(0)...)
		out = append(out, fetchFrame(1, version)...)
		out = append(out, metadataFrame(2)...)
		if _, err := nc.Write(out); err != nil {
			t.Fatal(err)
		}
		for corr := int32(0); corr < 3; corr++ {
			b := readFrame(t, nc)
			if got := int32(binary.BigEndian.Uint32(b)); got != corr {
				t.Fatalf("response %d has correlation id %d", corr, got)
			}
			if corr != 1 {
				continue
			}
			body := b[4:]
			if version >= 12 {
				body = body[1:] // response header tagged fields
			}
			resp := kmsg.NewPtrFetchResponse()
			resp.SetVersion(version)
			if err := resp.ReadFrom(body); err != nil {
				t.Fatalf("v%d: decode: %v", version, err)
			}
			for i, r := range h.ranges {
				got := resp.Topics[0].Partitions[i].RecordBatches
				if !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
					t.Fatalf("v%d partition %d: %d bytes differ from the file range", version, i, len(got))
				}
			}
		}
		for range h.ranges {
			cr := <-h.opened
			<-cr.closed // a send that never releases its files hangs here
		}
	}
}

// TestFileFetchReleasedOnClose: a file response whose connection closed
// before it was ready is released, never sent.
func TestFileFetchReleasedOnClose(t *testing.T) {
	path, _ := testFile(t)
	h := &fileHandler{path: path, ranges: [][2]int64{{0, 1000}}, hold: true, opened: make(chan *countedRange, 4)}
	addr := start(t, h, Config{})
	nc := dial(t, addr)
	if _, err := nc.Write(fetchFrame(1, 12)); err != nil {
		t.Fatal(err)
	}
	// The handler holds the answer until the connection is gone.
	_ = nc.Close()
	select {
	case cr := <-h.opened:
		<-cr.closed
	case <-time.After(10 * time.Second):
		t.Fatal("the held fetch was never answered")
	}
}
