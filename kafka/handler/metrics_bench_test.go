package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkErrorLabel measures the error label of a Fetch response of
// 100 partitions without an error (the whole response is walked).
func BenchmarkErrorLabel(b *testing.B) {
	resp := kmsg.NewPtrFetchResponse()
	t := kmsg.NewFetchResponseTopic()
	for i := range int32(100) {
		p := kmsg.NewFetchResponseTopicPartition()
		p.Partition = i
		p.RecordBatches = make([]byte, 1024)
		t.Partitions = append(t.Partitions, p)
	}
	resp.Topics = append(resp.Topics, t)
	b.ReportAllocs()
	for range b.N {
		if errorLabel(resp) != "NONE" {
			b.Fatal("want NONE")
		}
	}
}
