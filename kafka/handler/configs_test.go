package handler

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

func TestConfigDefsCoverEveryName(t *testing.T) {
	for _, name := range metadata.ConfigNames() {
		d, ok := configDefs[name]
		if !ok || d.typ == 0 || d.broker == "" || d.doc == "" {
			t.Errorf("config %s: configDefs entry %+v, want a type, a broker name and a doc", name, d)
		}
	}
}

func op(name string, o kmsg.IncrementalAlterConfigOp, v *string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Op, c.Value = name, o, v
	return c
}

func TestIncrementalChange(t *testing.T) {
	defaults := metadata.DefaultTopicConfig().Map()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceName = "t"
	res.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{
		op("retention.ms", kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr("1000")),
		op("segment.bytes", kmsg.IncrementalAlterConfigOpDelete, nil),
		op("cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, kmsg.StringPtr("compact")),
	}
	req, errCode, _ := incrementalChange(res, map[string]string{"segment.bytes": "4096"}, defaults)
	if errCode != 0 || req.Set["retention.ms"] != "1000" || req.Set["cleanup.policy"] != "delete,compact" ||
		!slices.Equal(req.Delete, []string{"segment.bytes"}) {
		t.Fatalf("change %+v code %d", req, errCode)
	}
	res.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{
		op("cleanup.policy", kmsg.IncrementalAlterConfigOpSubtract, kmsg.StringPtr("delete")),
	}
	req, _, _ = incrementalChange(res, map[string]string{"cleanup.policy": "compact,delete"}, defaults)
	if req.Set["cleanup.policy"] != "compact" {
		t.Fatalf("subtract: %q", req.Set["cleanup.policy"])
	}
	for _, bad := range []struct {
		cfg  kmsg.IncrementalAlterConfigsRequestResourceConfig
		code int16
	}{
		{op("no.such.key", kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr("1")), 40},
		{op("retention.ms", kmsg.IncrementalAlterConfigOpAppend, kmsg.StringPtr("1")), 40},
		{op("retention.ms", kmsg.IncrementalAlterConfigOpSet, nil), errInvalidRequest},
	} {
		res.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{bad.cfg}
		if _, errCode, msg := incrementalChange(res, nil, defaults); errCode != bad.code {
			t.Errorf("%s op %d: code %d (%s), want %d", bad.cfg.Name, bad.cfg.Op, errCode, msg, bad.code)
		}
	}
	res.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{
		op("retention.ms", kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr("1")),
		op("retention.ms", kmsg.IncrementalAlterConfigOpDelete, nil),
	}
	if _, errCode, _ := incrementalChange(res, nil, defaults); errCode != errInvalidRequest {
		t.Errorf("duplicate keys: code %d", errCode)
	}
}

func TestConfigEntrySources(t *testing.T) {
	kafka := metadata.DefaultTopicConfig().Map()
	node := metadata.DefaultTopicConfig()
	node.RetentionBytes = 1 << 30
	nodeMap := node.Map()
	over := map[string]string{"retention.ms": "1000"}
	c := configEntry("retention.ms", over, nodeMap, kafka, 4, true, true)
	if c.Source != kmsg.ConfigSourceDynamicTopicConfig || *c.Value != "1000" || len(c.ConfigSynonyms) != 2 || c.Documentation == nil {
		t.Errorf("override: %+v", c)
	}
	c = configEntry("retention.bytes", over, nodeMap, kafka, 4, true, false)
	if c.Source != kmsg.ConfigSourceStaticBrokerConfig || c.ConfigSynonyms[0].Name != "log.retention.bytes" || c.IsDefault {
		t.Errorf("node default: %+v", c)
	}
	c = configEntry("segment.ms", over, nodeMap, kafka, 4, false, false)
	if c.Source != kmsg.ConfigSourceDefaultConfig || !c.IsDefault || c.ConfigSynonyms != nil {
		t.Errorf("kafka default: %+v", c)
	}
}
