package node

import (
	"os"
	"path/filepath"

	"github.com/sluice-mq/sluice/cluster/identity"
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

// scanDataDir checks the partition directories of the data dir against
// the first snapshot. A directory whose recorded topic
// (identity.PartitionFileName) has a recorded delete, or was moved away
// from this node by a finished reassignment, is marked deleted (renamed,
// removed after the delay; the partition is not hosted until then). A
// directory the metadata does not assign to this node without such a
// record, or one holding another incarnation of a hosted topic, is kept,
// logged and counted (Config.KeptDirs), never removed. Directories
// marked deleted before a restart are removed after the delay.
func (n *node) scanDataDir(snap metadata.Snapshot, desired map[metadata.TopicPartition]desiredReplica) {
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
		dir := filepath.Join(n.cfg.DataDir, e.Name())
		if !isLogDir(dir) {
			continue
		}
		recordedID := ""
		if name, id, err := identity.ReadPartitionID(dir); err == nil && name == tp.Topic {
			recordedID = id
		}
		d, want := desired[tp]
		switch {
		case want && (recordedID == "" || recordedID == d.topicID):
			continue // the hosted partition's own data
		case recordedID != "" && deletionRecorded(snap, tp, recordedID):
			n.logger.Info("removing the data of a partition deleted while the node was down", "dir", dir, "topic_id", recordedID)
			n.deleting[tp] = recordedID
			n.deleter.markDeleted(tp, dir, recordedID)
		default:
			n.logger.Warn("keeping a partition directory the metadata does not assign to this node (no recorded delete); "+
				"remove it by hand if its data is not needed", "dir", dir, "topic_id", recordedID)
			n.keep(tp, recordedID)
		}
	}
}
