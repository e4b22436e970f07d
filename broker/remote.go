package broker

import (
	"fmt"
	"math/bits"
	"net"
	"strconv"
	"sync"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// flowControlWindow is the HTTP/2 flow-control window of every remote
// stream and connection. grpc's default (64 KiB, grown by BDP estimation)
// stalls each large batch on window updates; a fixed window of a few
// writer batches keeps a stream of 64 KiB requests flowing.
const flowControlWindow = 16 << 20

// transportBufferSize is the write and read buffer of every remote
// connection. grpc's 32 KiB default costs one syscall per two 16 KiB
// HTTP/2 frames; batches of 64 KiB and fetches of megabytes move in
// fewer, larger reads and writes with a larger buffer.
const transportBufferSize = 256 << 10

// RemoteOptions returns the protoactor remote options for rc: a writer
// batch small enough that a batch of maximum-size messages fits the gRPC
// receive limit, the receive limit itself, keepalives on both sides (so a
// hung peer is detected), and the insecure transport credentials that
// WithDialOptions would otherwise drop. Clients use the same options.
func RemoteOptions(rc RemoteConfig) []remote.ConfigOption {
	return []remote.ConfigOption{
		remote.WithEndpointWriterBatchSize(rc.WriterBatchSize),
		remote.WithServerOptions(
			grpc.MaxRecvMsgSize(rc.MaxRecvMsgBytes),
			grpc.WriteBufferSize(transportBufferSize),
			grpc.ReadBufferSize(transportBufferSize),
			experimental.BufferPool(transportPool),
			grpc.ForceServerCodecV2(pooledCodec{transportPool}),
			grpc.InitialWindowSize(flowControlWindow),
			grpc.InitialConnWindowSize(flowControlWindow),
			grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
				MinTime:             rc.KeepaliveTime / 2,
				PermitWithoutStream: true,
			}),
			grpc.KeepaliveParams(keepalive.ServerParameters{
				Time:    rc.KeepaliveTime,
				Timeout: rc.KeepaliveTimeout,
			}),
		),
		remote.WithDialOptions(
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithWriteBufferSize(transportBufferSize),
			grpc.WithReadBufferSize(transportBufferSize),
			experimental.WithBufferPool(transportPool),
			grpc.WithInitialWindowSize(flowControlWindow),
			grpc.WithInitialConnWindowSize(flowControlWindow),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(rc.MaxRecvMsgBytes), grpc.ForceCodecV2(pooledCodec{transportPool})),
			grpc.WithKeepaliveParams(keepalive.ClientParameters{
				Time:                rc.KeepaliveTime,
				Timeout:             rc.KeepaliveTimeout,
				PermitWithoutStream: true,
			}),
		),
	}
}

// newRemoteConfig builds the remote configuration of a node listening on
// listen and advertising advertise (empty: the bound address).
func newRemoteConfig(listen, advertise string, rc RemoteConfig) (*remote.Config, error) {
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("broker: listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("broker: listen %q: bad port", listen)
	}
	opts := RemoteOptions(rc)
	if advertise != "" {
		opts = append(opts, remote.WithAdvertisedHost(advertise))
	}
	cfg := remote.Configure(host, port, opts...)
	cfg.MaxRetryCount = rc.ConnectRetries
	return cfg, nil
}

// startRemote starts r, turning protoactor's panic on a bind error into an
// error.
func startRemote(r *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("broker: start remote: %v", p)
		}
	}()
	r.Start()
	return nil
}

// transportPool is the buffer pool of every remote connection.
//
// grpc's default pool clears every buffer it hands out, over the whole
// capacity of its tier: a 40 KiB message takes a 1 MiB buffer and clears
// all of it, and a message over 1 MiB (a fetch response, a full produce
// request) gets a buffer of its own size, cleared. grpc overwrites the
// bytes it asks for before reading them, so this pool does not clear,
// and its tiers are powers of two, so a buffer is at most twice the
// request.
var transportPool mem.BufferPool = &pow2Pool{}

const (
	pow2PoolMinShift = 9  // 512 B: smaller buffers come from the smallest tier
	pow2PoolMaxShift = 27 // 128 MiB: larger buffers are not pooled
)

type pow2Pool struct {
	tiers [pow2PoolMaxShift + 1]sync.Pool // tiers[i] holds *[]byte of capacity 1<<i
}

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
		return nil, fmt.Errorf("broker: codec: %T is not a proto message", v)
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
		return fmt.Errorf("broker: codec: %T is not a proto message", v)
	}
	if len(data) == 1 { // unmarshalling copies what it keeps
		return proto.Unmarshal(data[0].ReadOnlyData(), m)
	}
	buf := data.MaterializeToBuffer(c.pool)
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}
