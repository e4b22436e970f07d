//go:build unix

package consultest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/sluice-mq/sluice/cluster/consul/consultest"
)

func TestAgentPause(t *testing.T) {
	agent := consultest.Start(t)
	client, err := api.NewClient(&api.Config{
		Address:    agent.Addr(),
		HttpClient: &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	agent.Pause()
	if _, err := client.Status().Leader(); err == nil {
		t.Fatal("a paused agent answered")
	}
	agent.Resume()
	if _, err := client.Status().Leader(); err != nil {
		t.Fatalf("resumed agent: %v", err)
	}
	// A paused agent still stops.
	agent.Pause()
	agent.Stop()
	agent.Restart()
	if _, err := client.Status().Leader(); err != nil {
		t.Fatalf("restarted agent: %v", err)
	}
}
