package controller

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/cluster/local"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

func BenchmarkControllerCreateTopic100Partitions(b *testing.B) {
	st, err := local.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	m := &staticMembers{}
	m.set(1, 2, 3)
	ctl := New(st, m, metadata.DefaultTopicConfig())
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		resp := ctl.CreateTopic(context.Background(), &messages.CreateTopicRequest{
			Name: fmt.Sprintf("t%d", i), Partitions: 100, ReplicationFactor: 3,
		})
		if resp.ErrorCode != messages.ErrorCode_NONE {
			b.Fatal(resp.ErrorMessage)
		}
	}
}
