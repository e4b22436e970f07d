package identity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

// PartitionFileName is the file in a partition directory that records
// which topic incarnation the data belongs to (like Kafka's
// partition.metadata): the topic's definition as the metadata held it.
const PartitionFileName = "partition.metadata"

// ErrCorruptPartition means partition.metadata could not be parsed.
var ErrCorruptPartition = errors.New("identity: corrupt partition.metadata")

type partitionFile struct {
	Version int            `json:"version"`
	Topic   metadata.Topic `json:"topic"`
}

// EncodePartition renders t in the partition.metadata format.
func EncodePartition(t metadata.Topic) ([]byte, error) {
	b, err := json.Marshal(partitionFile{Version: formatVersion, Topic: t})
	if err != nil {
		return nil, fmt.Errorf("identity: encode partition metadata of %q: %w", t.Name, err)
	}
	return append(b, '\n'), nil
}

// DecodePartition parses the partition.metadata format; errors wrap
// ErrCorruptPartition.
func DecodePartition(b []byte) (metadata.Topic, error) {
	var f partitionFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return metadata.Topic{}, fmt.Errorf("%w: %v", ErrCorruptPartition, err)
	}
	switch {
	case f.Version != formatVersion:
		return metadata.Topic{}, fmt.Errorf("%w: unknown version %d", ErrCorruptPartition, f.Version)
	case f.Topic.ID == "" || metadata.ValidateTopicName(f.Topic.Name) != nil:
		return metadata.Topic{}, fmt.Errorf("%w: bad topic %q id %q", ErrCorruptPartition, f.Topic.Name, f.Topic.ID)
	case f.Topic.Partitions() == 0:
		return metadata.Topic{}, fmt.Errorf("%w: topic %q has no partitions", ErrCorruptPartition, f.Topic.Name)
	}
	return f.Topic, nil
}

// WritePartition atomically records t in partition directory dir,
// creating dir if needed, and removes temporary files an interrupted
// earlier write left; a directory that records t already is left as it
// is. One writer per directory at a time.
func WritePartition(dir string, t metadata.Topic) error {
	b, err := EncodePartition(t)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := cleanTemp(dir, PartitionFileName); err != nil {
		return err
	}
	if have, err := os.ReadFile(filepath.Join(dir, PartitionFileName)); err == nil && bytes.Equal(have, b) {
		// Already recorded (a restart hosts the same replicas again):
		// thousands of partitions need not be rewritten and synced.
		return nil
	}
	return writeAtomic(dir, PartitionFileName, b)
}

// ReadPartition returns the topic recorded in partition directory dir:
// os.ErrNotExist (wrapped) when there is none, ErrCorruptPartition when it
// cannot be parsed. Temporary files are never read (nor removed: a writer
// may be at work).
func ReadPartition(dir string) (metadata.Topic, error) {
	path := filepath.Join(dir, PartitionFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return metadata.Topic{}, fmt.Errorf("identity: read %s: %w", path, err)
	}
	t, err := DecodePartition(b)
	if err != nil {
		return metadata.Topic{}, fmt.Errorf("%w (file %s)", err, path)
	}
	return t, nil
}
