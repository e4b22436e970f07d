package e2e

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// TestConfigsDescribeAlter alters a topic's configs incrementally through
// the Kafka listener and reads them back with DescribeConfigs: overrides
// as DYNAMIC_TOPIC_CONFIG, the rest as defaults; an unknown key is
// INVALID_CONFIG and changes nothing.
func TestConfigsDescribeAlter(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	cl := newClient(t, c)
	createTopic(t, cl, "cfg", 1, map[string]string{"retention.ms": "60000"})

	alter := func(name string, value string) int16 {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		res := kmsg.NewIncrementalAlterConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "cfg"
		cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Op, cfg.Value = name, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(value)
		res.Configs = append(res.Configs, cfg)
		req.Resources = append(req.Resources, res)
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Resources[0].ErrorCode
	}
	if code := alter("segment.ms", "120000"); code != 0 {
		t.Fatalf("alter segment.ms: code %d", code)
	}
	if code := alter("no.such.config", "1"); code != 40 {
		t.Fatalf("alter unknown key: code %d, want INVALID_CONFIG", code)
	}

	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "cfg"
	req.Resources = append(req.Resources, res)
	req.IncludeSynonyms = true
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
	for _, cfg := range resp.Resources[0].Configs {
		got[cfg.Name] = cfg
	}
	for name, want := range map[string]string{"retention.ms": "60000", "segment.ms": "120000"} {
		if g := got[name]; g.Value == nil || *g.Value != want || g.Source != kmsg.ConfigSourceDynamicTopicConfig {
			t.Errorf("%s: %+v, want %s as a topic override", name, g, want)
		}
	}
	if g := got["cleanup.policy"]; g.Value == nil || *g.Value != "delete" || g.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("cleanup.policy: %+v, want the default", g)
	}
	if _, ok := got["no.such.config"]; ok {
		t.Error("the unknown key was stored")
	}
}
