package identity

import (
	"bufio"
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

// ReadPartitionID returns the name and id of the topic recorded in
// partition directory dir, reading the file only as far as they are: the
// definition lists every partition's replicas, so a node scanning 10,000
// directories at start would otherwise decode 10,000 × 10,000 lists.
// Errors are those of ReadPartition; a file whose beginning parses but
// whose rest is torn still gives its id.
func ReadPartitionID(dir string) (name, id string, err error) {
	path := filepath.Join(dir, PartitionFileName)
	f, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("identity: read %s: %w", path, err)
	}
	defer f.Close()
	name, id, err = scanTopicID(json.NewDecoder(bufio.NewReaderSize(f, 512)))
	if err != nil {
		return "", "", fmt.Errorf("%w: %v (file %s)", ErrCorruptPartition, err, path)
	}
	if id == "" || metadata.ValidateTopicName(name) != nil {
		return "", "", fmt.Errorf("%w: bad topic %q id %q (file %s)", ErrCorruptPartition, name, id, path)
	}
	return name, id, nil
}

// scanTopicID walks {"version":1,"topic":{"name":..,"id":..,...}} token
// by token until it has the version, name and id, skipping other values.
func scanTopicID(dec *json.Decoder) (name, id string, err error) {
	if err := expectDelim(dec, '{'); err != nil {
		return "", "", err
	}
	version := -1
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", "", err
		}
		switch key {
		case "version":
			if err := dec.Decode(&version); err != nil {
				return "", "", err
			}
			if version != formatVersion {
				return "", "", fmt.Errorf("unknown version %d", version)
			}
		case "topic":
			if err := expectDelim(dec, '{'); err != nil {
				return "", "", err
			}
			for dec.More() && (name == "" || id == "") {
				key, err := dec.Token()
				if err != nil {
					return "", "", err
				}
				var dst any = &json.RawMessage{}
				switch key {
				case "name":
					dst = &name
				case "id":
					dst = &id
				}
				if err := dec.Decode(dst); err != nil {
					return "", "", err
				}
			}
			if version == formatVersion {
				return name, id, nil
			}
			// The version comes after the topic: skip to it.
			for dec.More() {
				if _, err := dec.Token(); err != nil {
					return "", "", err
				}
				if err := dec.Decode(&json.RawMessage{}); err != nil {
					return "", "", err
				}
			}
			if _, err := dec.Token(); err != nil { // the topic's '}'
				return "", "", err
			}
		default:
			if err := dec.Decode(&json.RawMessage{}); err != nil {
				return "", "", err
			}
		}
	}
	if version != formatVersion {
		return "", "", fmt.Errorf("no version")
	}
	return name, id, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}
