package transport

import (
	"fmt"
	"math/bits"
	"sync"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

const (
	pow2PoolMinShift = 9  // 512 B: smaller buffers come from the smallest tier
	pow2PoolMaxShift = 27 // 128 MiB: larger buffers are not pooled
)

// Pool is a grpc buffer pool with power-of-two tiers that does not clear.
//
// grpc's default pool clears every buffer it hands out, over the whole
// capacity of its tier: a 40 KiB message takes a 1 MiB buffer and clears
// all of it, and a message over 1 MiB (a fetch response, a full produce
// request) gets a buffer of its own size, cleared. grpc overwrites the
// bytes it asks for before reading them, so this pool does not clear,
// and its tiers are powers of two, so a buffer is at most twice the
// request.
type Pool struct {
	tiers [pow2PoolMaxShift + 1]sync.Pool // tiers[i] holds *[]byte of capacity 1<<i
}

// NewPool returns an empty pool; share one per process.
func NewPool() *Pool { return &Pool{} }

// Get returns a buffer of length n, its bytes not cleared.
func (p *Pool) Get(n int) *[]byte {
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
func (p *Pool) Put(b *[]byte) {
	c := cap(*b)
	shift := bits.Len(uint(c)) - 1
	if c == 0 || c != 1<<shift || shift < pow2PoolMinShift || shift > pow2PoolMaxShift {
		return
	}
	p.tiers[shift].Put(b)
}

// Codec is grpc's proto codec with its buffers from Pool: grpc's own
// takes them from the default pool whatever the connection's pool is,
// and copies a message that arrived in one buffer into another before
// unmarshalling it. A message of many frames is gathered into a buffer of
// its own, whose large bytes values (the remote's envelopes) the message
// keeps in place (unmarshalAliasing).
type Codec struct{ Pool mem.BufferPool }

func (Codec) Name() string { return "proto" }

func (c Codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("transport: codec: %T is not a proto message", v)
	}
	size := proto.Size(m)
	opts := proto.MarshalOptions{UseCachedSize: true} // Size just ran
	if mem.IsBelowBufferPoolingThreshold(size) {
		b, err := opts.Marshal(m)
		return mem.BufferSlice{mem.SliceBuffer(b)}, err
	}
	buf := c.Pool.Get(size)
	out, err := opts.MarshalAppend((*buf)[:0], m)
	if err != nil || cap(out) != cap(*buf) {
		c.Pool.Put(buf)
		return mem.BufferSlice{mem.SliceBuffer(out)}, err
	}
	*buf = out
	return mem.BufferSlice{mem.NewBuffer(buf, c.Pool)}, nil
}

func (c Codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("transport: codec: %T is not a proto message", v)
	}
	if len(data) == 1 { // unmarshalling copies what it keeps
		return proto.Unmarshal(data[0].ReadOnlyData(), m)
	}
	if data.Len() >= AliasMinBytes {
		// A large message arrives in many frames: gather them into a
		// buffer of its own and let the message keep its large values
		// there instead of copying them once more.
		return unmarshalAliasing(data.Materialize(), m.ProtoReflect())
	}
	buf := data.MaterializeToBuffer(c.Pool)
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}

// Shared is the pool of every remote in the process: buffers freed by one
// connection serve the next.
var Shared = NewPool()
