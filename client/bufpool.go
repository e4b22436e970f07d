package client

import (
	"fmt"
	"math/bits"
	"sync"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// transportPool is the buffer pool of the client's gRPC connections.
//
// grpc's default pool clears every buffer it hands out, over the whole
// capacity of its tier: a 40 KiB message takes a 1 MiB buffer and clears
// all of it, and a message over 1 MiB (a fetch response, a full produce
// request) gets a buffer of its own size, cleared. grpc overwrites the
// bytes it asks for before reading them, so this pool does not clear,
// and its tiers are powers of two, so a buffer is at most twice the
// request.
var transportPool mem.BufferPool = newPow2Pool()

const (
	pow2PoolMinShift = 9  // 512 B: smaller buffers come from the smallest tier
	pow2PoolMaxShift = 27 // 128 MiB: larger buffers are not pooled
)

type pow2Pool struct {
	tiers [pow2PoolMaxShift + 1]sync.Pool // tiers[i] holds *[]byte of capacity 1<<i
}

func newPow2Pool() *pow2Pool { return &pow2Pool{} }

// Get returns a buffer of length n, its bytes not cleared.
func (p *pow2Pool) Get(n int) *[]byte {
	shift := max(bits.Len(uint(max(n, 1)-1)), pow2PoolMinShift)
	if shift > pow2PoolMaxShift {
		b := make([]byte, n)
		return &b
	}
	if b, ok := p.tiers[shift].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<shift)
	return &b
}

// Put returns a buffer from Get to its tier; others are dropped.
func (p *pow2Pool) Put(b *[]byte) {
	c := cap(*b)
	shift := bits.Len(uint(c)) - 1
	if c == 0 || c != 1<<shift || shift < pow2PoolMinShift || shift > pow2PoolMaxShift {
		return
	}
	p.tiers[shift].Put(b)
}

// pooledCodec is grpc's proto codec with its buffers from pool: grpc's own
// takes them from the default pool whatever the connection's pool is,
// and copies a message that arrived in one buffer into another before
// unmarshalling it.
type pooledCodec struct{ pool mem.BufferPool }

func (pooledCodec) Name() string { return "proto" }

func (c pooledCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("client: codec: %T is not a proto message", v)
	}
	size := proto.Size(m)
	opts := proto.MarshalOptions{UseCachedSize: true} // Size just ran
	if mem.IsBelowBufferPoolingThreshold(size) {
		b, err := opts.Marshal(m)
		return mem.BufferSlice{mem.SliceBuffer(b)}, err
	}
	buf := c.pool.Get(size)
	out, err := opts.MarshalAppend((*buf)[:0], m)
	if err != nil || cap(out) != cap(*buf) {
		c.pool.Put(buf)
		return mem.BufferSlice{mem.SliceBuffer(out)}, err
	}
	*buf = out
	return mem.BufferSlice{mem.NewBuffer(buf, c.pool)}, nil
}

func (c pooledCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("client: codec: %T is not a proto message", v)
	}
	if len(data) == 1 { // unmarshalling copies what it keeps
		return proto.Unmarshal(data[0].ReadOnlyData(), m)
	}
	buf := data.MaterializeToBuffer(c.pool)
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}
