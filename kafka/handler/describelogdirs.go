package handler

import (
	"context"
	"syscall"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// describeLogDirs answers this node's log dir (its data dir) with the
// size of each hosted replica, filtered by the request's topics (all when
// null); offset lag is 0 and no log is a future one (no moves between
// dirs). An offline dir is answered with KAFKA_STORAGE_ERROR and no
// partitions, as Kafka does. From v4 the volume's total and usable bytes
// are filled in.
func (h *Handler) describeLogDirs(ctx context.Context, r *kmsg.DescribeLogDirsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	a, err := ask[*messages.LogDirsResponse](ctx, h, &messages.LogDirsRequest{}, defaultTimeout)
	if err != nil {
		h.cfg.Logger.Debug("kafka: describe log dirs", "error", err)
		resp.ErrorCode = errUnknownServerError
		return resp
	}
	var wanted map[string]map[int32]bool
	if r.Topics != nil {
		wanted = make(map[string]map[int32]bool, len(r.Topics))
		for _, t := range r.Topics {
			ps := wanted[t.Topic]
			if ps == nil {
				ps = make(map[int32]bool, len(t.Partitions))
				wanted[t.Topic] = ps
			}
			for _, p := range t.Partitions {
				ps[p] = true
			}
		}
	}
	for _, d := range a.Dirs {
		rd := kmsg.NewDescribeLogDirsResponseDir()
		rd.Dir, rd.ErrorCode = d.Path, code(d.ErrorCode)
		if rd.ErrorCode == 0 && r.Version >= 4 {
			var st syscall.Statfs_t
			if err := syscall.Statfs(d.Path, &st); err == nil {
				rd.TotalBytes = int64(st.Blocks) * st.Bsize
				rd.UsableBytes = int64(st.Bavail) * st.Bsize
			}
		}
		byTopic := map[string]int{}
		for _, p := range d.Partitions {
			if wanted != nil && !wanted[p.Topic][p.Partition] {
				continue
			}
			i, ok := byTopic[p.Topic]
			if !ok {
				i = len(rd.Topics)
				byTopic[p.Topic] = i
				rt := kmsg.NewDescribeLogDirsResponseDirTopic()
				rt.Topic = p.Topic
				rd.Topics = append(rd.Topics, rt)
			}
			rp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			rp.Partition, rp.Size = p.Partition, p.SizeBytes
			rd.Topics[i].Partitions = append(rd.Topics[i].Partitions, rp)
		}
		resp.Dirs = append(resp.Dirs, rd)
	}
	return resp
}
