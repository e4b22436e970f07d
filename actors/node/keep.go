package node

import (
	"os"
	"path/filepath"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

// deletionRecorded reports whether the metadata says the data of
// partition tp of topic incarnation topicID is to be removed: its topic
// was deleted (a delete record of topicID), or the topic, same id, no
// longer lists this node for the partition (a finished reassignment moved
// it away, or the partition no longer exists in that incarnation). A topic
// that is merely missing says nothing: its data is kept.
func deletionRecorded(snap metadata.Snapshot, tp metadata.TopicPartition, topicID string) bool {
	if _, deleted := snap.DeletedTopics[topicID]; deleted {
		return true
	}
	t, ok := snap.Topics[tp.Topic]
	return ok && t.ID == topicID && topicID != ""
}

// keep records a partition directory kept without a replica: its data is
// not removed, and a replica of another topic incarnation is not spawned
// over it. topicID is "" when unknown (a directory found at start).
func (n *node) keep(tp metadata.TopicPartition, topicID string) {
	n.kept[tp] = topicID
	n.reportKept()
}

// mayHost reports whether a replica of topic incarnation topicID may be
// spawned for tp: not over a kept directory of another incarnation. A
// kept directory whose topic comes back (same id, or an unknown id from
// the scan at start) is hosted again.
func (n *node) mayHost(tp metadata.TopicPartition, topicID string) bool {
	keptID, ok := n.kept[tp]
	if !ok {
		return true
	}
	if keptID != "" && keptID != topicID {
		if _, deleted := n.view.Snapshot.DeletedTopics[keptID]; !deleted {
			if !n.conflictLogged[tp] {
				n.conflictLogged[tp] = true
				n.logger.Error("not hosting a partition: its directory holds data of another incarnation of the topic whose delete is not recorded; "+
					"move the directory away by hand to host the new topic",
					"partition", tp.String(), "dir", n.partitionDir(tp), "kept_topic_id", keptID, "topic_id", topicID)
			}
			return false
		}
	}
	delete(n.kept, tp)
	delete(n.conflictLogged, tp)
	n.reportKept()
	return true
}

func (n *node) reportKept() {
	if n.cfg.KeptDirs != nil {
		n.cfg.KeptDirs.Set(float64(len(n.kept)))
	}
}

// reportUnknownDirs finds partition directories in the data dir that the
// metadata does not assign to this node, at the first snapshot. They are
// kept, logged and counted (Config.KeptDirs), never removed: only a
// recorded delete removes data.
func (n *node) reportUnknownDirs(desired map[metadata.TopicPartition]desiredReplica) {
	entries, err := os.ReadDir(n.cfg.DataDir)
	if err != nil {
		n.logger.Error("scan data dir", "dir", n.cfg.DataDir, "error", err)
		return
	}
	n.scheduleLeftovers(entries)
	for _, e := range entries {
		tp, ok := parsePartitionDir(e.Name())
		if !e.IsDir() || !ok {
			continue
		}
		if _, want := desired[tp]; want {
			continue
		}
		dir := filepath.Join(n.cfg.DataDir, e.Name())
		if !isLogDir(dir) {
			continue
		}
		n.logger.Warn("keeping a partition directory the metadata does not assign to this node (no recorded delete); "+
			"remove it by hand if its data is not needed", "dir", dir)
		n.keep(tp, "")
	}
}
