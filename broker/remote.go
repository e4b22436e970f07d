package broker

import (
	"fmt"
	"net"
	"strconv"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/keepalive"

	"github.com/sluice-mq/sluice/transport"
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
			experimental.BufferPool(transport.Shared),
			grpc.ForceServerCodecV2(transport.Codec{Pool: transport.Shared}),
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
			experimental.WithBufferPool(transport.Shared),
			grpc.WithInitialWindowSize(flowControlWindow),
			grpc.WithInitialConnWindowSize(flowControlWindow),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(rc.MaxRecvMsgBytes), grpc.ForceCodecV2(transport.Codec{Pool: transport.Shared})),
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
