package handler

import (
	"context"
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// Kafka error codes of DescribeCluster.
const errUnsupportedEndpointType int16 = 115

// describeCluster answers the cluster id, the controller and the live
// members with a Kafka listener, from the node's cluster view. Only the
// brokers endpoint type exists: the controller is not a separate quorum.
func (h *Handler) describeCluster(ctx context.Context, r *kmsg.DescribeClusterRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ControllerID = -1
	resp.ClusterAuthorizedOperations = math.MinInt32
	if r.Version >= 1 {
		resp.EndpointType = r.EndpointType
		if r.EndpointType != 1 {
			resp.ErrorCode = errUnsupportedEndpointType
			resp.ErrorMessage = strPtr("only the brokers endpoint type (1) is supported")
			return resp
		}
	}
	m, err := h.meta(ctx, &messages.MetadataRequest{}, false)
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = errRequestTimedOut, strPtr(err.Error())
		return resp
	}
	resp.ClusterID, resp.ControllerID = m.ClusterId, m.ControllerId
	for _, b := range kafkaBrokers(m.Brokers) {
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port, rb.Rack = b.NodeID, b.Host, b.Port, b.Rack
		resp.Brokers = append(resp.Brokers, rb)
	}
	return resp
}
