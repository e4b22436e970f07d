package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/client"
)

func TestCLIClusterDetailShowsPartitionsAndRegistration(t *testing.T) {
	registered := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"membership":{"registered":true}}`))
	}))
	defer registered.Close()
	lost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"membership":{"registered":false,"problem":"consul: connection refused"}}`))
	}))
	defer lost.Close()
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	m := client.Metadata{
		Brokers: []client.Broker{
			{NodeID: 1, HTTPAddress: addr(registered)},
			{NodeID: 2, HTTPAddress: addr(lost)},
			{NodeID: 3},
		},
		Topics: []client.TopicInfo{{Name: "orders", Partitions: []client.PartitionInfo{
			{Partition: 0, Leader: 1, LeaderEpoch: 4, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}},
			{Partition: 1, Leader: 2, LeaderEpoch: 1, Replicas: []int32{2, 3, 1}, ISR: []int32{2, 1}},
			{Partition: 2, Leader: -1, LeaderEpoch: 7, Replicas: []int32{3, 1, 2}, ISR: []int32{3}},
		}}},
	}
	d := clusterDetails(context.Background(), m)
	if !d.Registration[0].Registered || d.Registration[1].Registered || d.Registration[2].Registered {
		t.Fatalf("registration %+v", d.Registration)
	}
	var out bytes.Buffer
	if err := writeClusterDetail(&out, d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Node 2 is not registered in the cluster: consul: connection refused",
		"Node 3 is not registered in the cluster: no HTTP address advertised",
		"orders  0          1       4      1,2,3     1,2,3  ok",
		"under-replicated",
		"offline",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "Node 1 ") {
		t.Errorf("registered node reported:\n%s", out.String())
	}
}
