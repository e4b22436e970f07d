package producerid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/sluice-mq/sluice/cluster"
)

// Key is the store key of the latest claimed block.
const Key = "producer-ids/block"

// DefaultBlockSize is how many ids one claim takes (Kafka's 1000).
const DefaultBlockSize = 1000

var (
	// ErrMalformed means the store's block record cannot be decoded or
	// describes an impossible block.
	ErrMalformed = errors.New("producerid: malformed block record")
	// ErrExhausted means the id space is used up.
	ErrExhausted = errors.New("producerid: producer ids exhausted")
	// ErrInvalidSize means a claim asked for a block size below 1.
	ErrInvalidSize = errors.New("producerid: invalid block size")
)

// Block is a range of producer ids owned by one node: Start..Start+Size-1.
type Block struct {
	NodeID int32 `json:"node_id"`
	Start  int64 `json:"start"`
	Size   int64 `json:"size"`
}

// End is the first id after the block.
func (b Block) End() int64 { return b.Start + b.Size }

// Contains reports whether id belongs to the block.
func (b Block) Contains(id int64) bool { return id >= b.Start && id < b.End() }

func (b Block) String() string {
	return fmt.Sprintf("producer ids %d..%d (node %d)", b.Start, b.End()-1, b.NodeID)
}

// Decode parses a block record, refusing negative starts, sizes below 1 and
// blocks that pass the id space.
func Decode(value []byte) (Block, error) {
	var b Block
	if err := json.Unmarshal(value, &b); err != nil {
		return Block{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if b.Start < 0 || b.Size < 1 || b.Start > math.MaxInt64-b.Size {
		return Block{}, fmt.Errorf("%w: start %d, size %d", ErrMalformed, b.Start, b.Size)
	}
	return b, nil
}

// Encode is the block's store record.
func Encode(b Block) []byte {
	out, _ := json.Marshal(b) // three integers: cannot fail
	return out
}

// Claim takes the next block of size ids for node in st by check-and-set
// and returns it. Concurrent claimers, on any nodes, get disjoint blocks;
// a lost CAS re-reads and retries until ctx is done. Store failures are
// returned wrapped.
func Claim(ctx context.Context, st cluster.Store, node int32, size int64) (Block, error) {
	if size < 1 {
		return Block{}, fmt.Errorf("%w: %d", ErrInvalidSize, size)
	}
	for {
		if err := ctx.Err(); err != nil {
			return Block{}, fmt.Errorf("producerid: claim block: %w", err)
		}
		next, version, err := nextBlock(ctx, st, node, size)
		if err != nil {
			return Block{}, err
		}
		_, err = st.CAS(ctx, Key, Encode(next), version)
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, cluster.ErrVersionMismatch) {
			return Block{}, fmt.Errorf("producerid: claim block: %w", err)
		}
		// Another node claimed meanwhile: read its block and go on after it.
	}
}

// nextBlock reads the latest block and returns the one after it with the
// version to CAS against (0: the key does not exist yet).
func nextBlock(ctx context.Context, st cluster.Store, node int32, size int64) (Block, uint64, error) {
	kv, err := st.Get(ctx, Key)
	if errors.Is(err, cluster.ErrNotFound) {
		return Block{NodeID: node, Start: 0, Size: size}, 0, nil
	}
	if err != nil {
		return Block{}, 0, fmt.Errorf("producerid: read block: %w", err)
	}
	last, err := Decode(kv.Value)
	if err != nil {
		return Block{}, 0, err
	}
	start := last.End()
	if start > math.MaxInt64-size {
		return Block{}, 0, fmt.Errorf("%w: latest block %s", ErrExhausted, last)
	}
	return Block{NodeID: node, Start: start, Size: size}, kv.Version, nil
}

// Raise makes every later claim start at floor or above: when the latest
// block ends below floor it records a one-id block at floor (that id is
// never handed out). A store already past floor is left alone. Metadata
// recovery raises an empty store above the ids its replicas hold, so a
// rebuilt store does not hand them out again.
func Raise(ctx context.Context, st cluster.Store, node int32, floor int64) error {
	if floor < 0 || floor == math.MaxInt64 {
		return fmt.Errorf("%w: floor %d", ErrInvalidSize, floor)
	}
	for {
		var version uint64
		kv, err := st.Get(ctx, Key)
		switch {
		case errors.Is(err, cluster.ErrNotFound):
		case err != nil:
			return fmt.Errorf("producerid: read block: %w", err)
		default:
			last, err := Decode(kv.Value)
			if err != nil {
				return err
			}
			if last.End() >= floor {
				return nil
			}
			version = kv.Version
		}
		_, err = st.CAS(ctx, Key, Encode(Block{NodeID: node, Start: floor, Size: 1}), version)
		if err == nil {
			return nil
		}
		if !errors.Is(err, cluster.ErrVersionMismatch) {
			return fmt.Errorf("producerid: raise block: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("producerid: raise block: %w", err)
		}
	}
}
