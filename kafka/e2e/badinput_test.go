package e2e

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// rawConn is a client socket to a Kafka listener.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	return nc
}

// expectClosed reads until the server closes the connection; it must not
// answer anything.
func expectClosed(t *testing.T, nc net.Conn, what string) {
	t.Helper()
	var b [1]byte
	n, err := nc.Read(b[:])
	if n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)) {
		var opErr *net.OpError
		if !errors.As(err, &opErr) || opErr.Timeout() {
			t.Fatalf("%s: read %d bytes, err %v; want the connection closed", what, n, err)
		}
	}
}

// readResponse reads one response frame and returns it without its length.
func readResponse(t *testing.T, nc net.Conn) []byte {
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

// TestKafkaBadInput sends bad input on raw sockets: each bad connection is
// closed (or answered as Kafka answers), nothing is written, and another
// connection keeps working.
func TestKafkaBadInput(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	cl := newClient(t, c)
	createTopic(t, cl, "bad", 1, nil)
	addr := c.Kafka(0)

	t.Run("garbage", func(t *testing.T) {
		nc := rawConn(t, addr)
		_, _ = nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		expectClosed(t, nc, "garbage")
	})
	t.Run("over limit", func(t *testing.T) {
		nc := rawConn(t, addr)
		_, _ = nc.Write(binary.BigEndian.AppendUint32(nil, 200<<20))
		expectClosed(t, nc, "over-limit length")
	})
	t.Run("truncated", func(t *testing.T) {
		nc := rawConn(t, addr)
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(9)
		b := kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)
		_, _ = nc.Write(b[:len(b)-1])
		_ = nc.(*net.TCPConn).CloseWrite()
		expectClosed(t, nc, "truncated")
	})
	t.Run("unknown key", func(t *testing.T) {
		nc := rawConn(t, addr)
		b := []byte{0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff}
		_, _ = nc.Write(b)
		expectClosed(t, nc, "unknown key")
	})
	t.Run("ApiVersions unknown version", func(t *testing.T) {
		nc := rawConn(t, addr)
		b := []byte{0, 0, 0, 10, 0, 18, 0, 99, 0, 0, 0, 42, 0xff, 0xff}
		_, _ = nc.Write(b)
		resp := readResponse(t, nc)
		if corr := binary.BigEndian.Uint32(resp); corr != 42 {
			t.Fatalf("correlation id %d", corr)
		}
		av := kmsg.NewPtrApiVersionsResponse()
		av.SetVersion(0)
		if err := av.ReadFrom(resp[4:]); err != nil || av.ErrorCode != kerr.UnsupportedVersion.Code || len(av.ApiKeys) == 0 {
			t.Fatalf("answer %+v, %v", av, err)
		}
	})
	t.Run("corrupt batch", func(t *testing.T) {
		// A real batch with one byte of its records flipped: the CRC no
		// longer matches.
		batch := validBatch(t)
		batch[len(batch)-2] ^= 0xff
		req := kmsg.NewPtrProduceRequest()
		req.SetVersion(7)
		req.Acks, req.TimeoutMillis = -1, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "bad"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = batch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.CorruptMessage.Code {
			t.Fatalf("error code %d, want CORRUPT_MESSAGE", code)
		}
	})

	// Nothing was written, and a good client still works.
	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "bad"
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Timestamp = -1
	lt.Partitions = append(lt.Partitions, lp)
	lo.Topics = append(lo.Topics, lt)
	resp, err := lo.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.Offset != 0 {
		t.Fatalf("bad topic after bad input: %+v", p)
	}
	if err := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: "bad", Value: []byte("ok")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// validBatch is a one-record uncompressed v2 batch with a correct CRC.
func validBatch(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 0, 128)
	b = binary.BigEndian.AppendUint64(b, 0) // base offset
	lenAt := len(b)
	b = binary.BigEndian.AppendUint32(b, 0) // length
	b = binary.BigEndian.AppendUint32(b, 0) // leader epoch
	b = append(b, 2)                        // magic
	crcAt := len(b)
	b = binary.BigEndian.AppendUint32(b, 0) // crc
	b = binary.BigEndian.AppendUint16(b, 0) // attributes
	b = binary.BigEndian.AppendUint32(b, 0) // last offset delta
	ts := uint64(time.Now().UnixMilli())
	b = binary.BigEndian.AppendUint64(b, ts)         // base timestamp
	b = binary.BigEndian.AppendUint64(b, ts)         // max timestamp
	b = binary.BigEndian.AppendUint64(b, ^uint64(0)) // producer id -1
	b = binary.BigEndian.AppendUint16(b, 0xffff)     // producer epoch -1
	b = binary.BigEndian.AppendUint32(b, 0xffffffff) // base sequence -1
	b = binary.BigEndian.AppendUint32(b, 1)          // records
	rec := kmsg.Record{Value: []byte("hello")}
	var body []byte
	body = append(body, 0)               // attributes
	body = binary.AppendVarint(body, 0)  // timestamp delta
	body = binary.AppendVarint(body, 0)  // offset delta
	body = binary.AppendVarint(body, -1) // key
	body = binary.AppendVarint(body, int64(len(rec.Value)))
	body = append(body, rec.Value...)
	body = binary.AppendVarint(body, 0) // headers
	b = binary.AppendVarint(b, int64(len(body)))
	b = append(b, body...)
	binary.BigEndian.PutUint32(b[lenAt:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[crcAt:], crc32c(b[crcAt+4:]))
	return b
}
