package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/identity"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/cluster/producerid"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/producerstate"
)

// CandidatesPrefix holds the best replica found so far per partition.
const CandidatesPrefix = "recovery/"

// ErrOtherCluster means the store belongs to another cluster.
var ErrOtherCluster = errors.New("recovery: the metadata store belongs to another cluster")

// Candidate is a replica's claim to lead a recovered partition.
type Candidate struct {
	Node  int32 `json:"node"`
	Epoch int32 `json:"epoch"`
	LEO   int64 `json:"leo"`
}

// better reports whether c holds more of the partition than o.
func (c Candidate) better(o Candidate) bool {
	if c.Epoch != o.Epoch {
		return c.Epoch > o.Epoch
	}
	return c.LEO > o.LEO
}

// Report says what Recover did.
type Report struct {
	TopicsCreated []string
	Led           []metadata.TopicPartition // partitions this node now leads
	Skipped       []string                  // replica dirs not recovered, with why
	// ProducerIDFloor is where producer id claims start from now on.
	ProducerIDFloor int64
}

// Recover rebuilds the metadata in st from the replicas in dataDir; self
// is the data dir's identity.
func Recover(ctx context.Context, st cluster.Store, dataDir string, self identity.Identity, logger *slog.Logger) (Report, error) {
	var rep Report
	if err := claimClusterID(ctx, st, self.ClusterID); err != nil {
		return rep, err
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return rep, fmt.Errorf("recovery: scan %s: %w", dataDir, err)
	}
	var highestPID int64 = -1
	for _, e := range entries {
		tp, ok := parseDir(e.Name())
		if !e.IsDir() || !ok {
			continue
		}
		dir := filepath.Join(dataDir, e.Name())
		highestPID = max(highestPID, highestProducerID(dir))
		led, created, err := recoverReplica(ctx, st, dir, tp, self.NodeID)
		switch {
		case errors.Is(err, errSkip):
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", dir, err))
			logger.Warn("not recovered", "dir", dir, "reason", err)
			continue
		case err != nil:
			return rep, err
		}
		if created {
			rep.TopicsCreated = append(rep.TopicsCreated, tp.Topic)
			logger.Info("recovered topic", "topic", tp.Topic)
		}
		if led {
			rep.Led = append(rep.Led, tp)
			logger.Info("recovered partition, leading it", "partition", tp.String())
		}
	}
	rep.ProducerIDFloor = max(highestPID+1, time.Now().UnixMilli()*producerid.DefaultBlockSize)
	if err := producerid.Raise(ctx, st, self.NodeID, rep.ProducerIDFloor); err != nil {
		return rep, fmt.Errorf("recovery: %w", err)
	}
	return rep, nil
}

// highestProducerID is the highest producer id in the latest producer
// state snapshot of a replica directory, -1 without one.
func highestProducerID(dir string) int64 {
	highest := int64(-1)
	offsets, err := producerstate.ListSnapshots(dir)
	if err != nil || len(offsets) == 0 {
		return highest
	}
	entries, err := producerstate.ReadSnapshot(dir, offsets[len(offsets)-1])
	if err != nil {
		return highest
	}
	for _, e := range entries {
		highest = max(highest, e.ProducerID)
	}
	return highest
}

var errSkip = errors.New("skipped")

// claimClusterID writes id into an empty store; a store holding id is
// fine, another one refused.
func claimClusterID(ctx context.Context, st cluster.Store, id string) error {
	have, err := metadata.ClusterID(ctx, st)
	if err != nil {
		return err
	}
	if have == "" {
		_, err := st.CAS(ctx, metadata.ClusterIDKey, []byte(id), 0)
		if err == nil {
			return nil
		}
		if !errors.Is(err, cluster.ErrVersionMismatch) {
			return fmt.Errorf("recovery: write cluster id: %w", err)
		}
		if have, err = metadata.ClusterID(ctx, st); err != nil {
			return err
		}
	}
	if have != id {
		return fmt.Errorf("%w: this node belongs to cluster %s, the store to %s", ErrOtherCluster, id, have)
	}
	return nil
}

// recoverReplica recovers one replica directory.
func recoverReplica(ctx context.Context, st cluster.Store, dir string, tp metadata.TopicPartition, self int32) (led, created bool, err error) {
	if !isLogDir(dir) {
		return false, false, fmt.Errorf("%w: no log", errSkip)
	}
	topic, err := identity.ReadPartition(dir)
	if err != nil {
		return false, false, fmt.Errorf("%w: %v", errSkip, err)
	}
	if topic.Name != tp.Topic || int(tp.Partition) >= topic.Partitions() {
		return false, false, fmt.Errorf("%w: records topic %q with %d partitions", errSkip, topic.Name, topic.Partitions())
	}
	stored, err := metadata.GetTopic(ctx, st, topic.Name)
	switch {
	case err == nil && stored.ID != topic.ID:
		return false, false, fmt.Errorf("%w: the store holds topic %q with id %s, the directory id %s", errSkip, topic.Name, stored.ID, topic.ID)
	case err == nil:
	case errors.Is(err, messages.ErrUnknownTopicOrPartition):
		states := make([]metadata.PartitionState, topic.Partitions())
		for i := range states {
			states[i] = metadata.PartitionState{Leader: -1, ISR: []int32{}}
		}
		topic.Version = 0
		err := metadata.CreateTopic(ctx, st, topic, states)
		if err != nil && !errors.Is(err, messages.ErrTopicAlreadyExists) {
			return false, false, fmt.Errorf("recovery: create topic %q: %w", topic.Name, err)
		}
		created = err == nil
	default:
		return false, false, err
	}
	mine, err := inspect(dir, self)
	if err != nil {
		return false, created, fmt.Errorf("%w: %v", errSkip, err)
	}
	led, err = claim(ctx, st, tp, mine)
	return led, created, err
}

// inspect opens the log to learn its last epoch and end offset.
func inspect(dir string, self int32) (Candidate, error) {
	l, err := commitlog.Open(dir, commitlog.Config{})
	if err != nil {
		return Candidate{}, fmt.Errorf("open log: %w", err)
	}
	c := Candidate{Node: self, Epoch: -1, LEO: l.LogEndOffset()}
	if es := l.EpochEntries(); len(es) > 0 {
		c.Epoch = es[len(es)-1].Epoch
	}
	if err := l.Close(); err != nil {
		return Candidate{}, fmt.Errorf("close log: %w", err)
	}
	return c, nil
}

// claim makes this node the partition's leader when its replica is the
// best seen so far.
func claim(ctx context.Context, st cluster.Store, tp metadata.TopicPartition, mine Candidate) (bool, error) {
	key := CandidatesPrefix + tp.Topic + "/" + strconv.Itoa(int(tp.Partition))
	for {
		var version uint64
		kv, err := st.Get(ctx, key)
		switch {
		case err == nil:
			var best Candidate
			if json.Unmarshal(kv.Value, &best) == nil && (best.Node == mine.Node || !mine.better(best)) {
				return best.Node == mine.Node, nil
			}
			version = kv.Version
		case !errors.Is(err, cluster.ErrNotFound):
			return false, fmt.Errorf("recovery: read %s: %w", key, err)
		}
		value, _ := json.Marshal(mine) // a Candidate always encodes
		if _, err := st.CAS(ctx, key, value, version); errors.Is(err, cluster.ErrVersionMismatch) {
			continue
		} else if err != nil {
			return false, fmt.Errorf("recovery: write %s: %w", key, err)
		}
		return true, lead(ctx, st, tp, mine)
	}
}

// lead writes the partition state with this node leading in a new epoch.
func lead(ctx context.Context, st cluster.Store, tp metadata.TopicPartition, mine Candidate) error {
	for {
		state, err := metadata.GetPartitionState(ctx, st, tp.Topic, tp.Partition)
		if err != nil {
			return err
		}
		next := metadata.PartitionState{
			Leader:      mine.Node,
			LeaderEpoch: max(state.LeaderEpoch, mine.Epoch) + 1,
			ISR:         []int32{mine.Node},
		}
		_, err = metadata.CASPartitionState(ctx, st, tp.Topic, tp.Partition, next, state.Version)
		if errors.Is(err, cluster.ErrVersionMismatch) {
			continue
		}
		return err
	}
}

// parseDir splits "<topic>-<partition>".
func parseDir(name string) (metadata.TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return metadata.TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || metadata.ValidateTopicName(name[:i]) != nil {
		return metadata.TopicPartition{}, false
	}
	return metadata.TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

// isLogDir reports whether dir holds a log (a checkpoint or a segment).
func isLogDir(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, commitlog.OffsetsCheckpointFile)); err == nil {
		return true
	}
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	return err == nil && len(logs) > 0
}
