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

// A node whose /cluster reports an offline log dir is shown with it.
func TestCLIClusterDetailShowsOfflineLogDir(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"membership":{"registered":true},"log_dirs":[{"dir":"/d1","offline":false}]}`))
	}))
	defer healthy.Close()
	failed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"membership":{"registered":true},"log_dirs":[{"dir":"/d2","offline":true,` +
			`"error":"commitlog: log /d2/t-0 failed: fsync: input/output error","since":"2026-01-02T03:04:05Z"}]}`))
	}))
	defer failed.Close()
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	m := client.Metadata{Brokers: []client.Broker{
		{NodeID: 1, HTTPAddress: addr(healthy)},
		{NodeID: 2, HTTPAddress: addr(failed)},
		{NodeID: 3},
	}}
	d := clusterDetails(context.Background(), m)
	if got := []string{d.logDirState(1), d.logDirState(2), d.logDirState(3)}; strings.Join(got, ",") != "ok,offline,?" {
		t.Fatalf("log dir states %v", got)
	}
	var out bytes.Buffer
	if err := writeClusterDetail(&out, d); err != nil {
		t.Fatal(err)
	}
	want := "Node 2 log dir /d2 is offline since 2026-01-02T03:04:05Z: commitlog: log /d2/t-0 failed: fsync: input/output error"
	if !strings.Contains(out.String(), want) || strings.Contains(out.String(), "/d1") {
		t.Fatalf("output:\n%s\nwant the line %q only", out.String(), want)
	}
}
