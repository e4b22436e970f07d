package compaction

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sluice-mq/sluice/storage/batch"
)

// maxBatchBytes bounds the size a batch header may claim before its bytes
// are read, so a corrupt length cannot trigger a huge allocation.
const maxBatchBytes = 1 << 30

// Input is one segment to compact. Open is called once per pass (twice per
// Compact) and must yield the same batches each time, back to back as in a
// .log file, with no partial batch at the end.
type Input struct {
	// Name identifies the input in errors, e.g. the segment file name.
	Name string
	Open func() (io.ReadCloser, error)
}

// BytesInput is an Input over batches held in memory.
func BytesInput(name string, b []byte) Input {
	return Input{Name: name, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}}
}

// FileInput is an Input over a segment's .log file.
func FileInput(path string) Input {
	return Input{Name: path, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// batchReader reads whole, CRC-checked batches from a stream.
type batchReader struct {
	r   *bufio.Reader
	buf bytes.Buffer // reused; the batch returned by next aliases it
}

func newBatchReader(r io.Reader) *batchReader {
	return &batchReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next batch, valid until the following call, or io.EOF
// after the last one. A partial or corrupt batch is ErrCorruptInput.
func (br *batchReader) next() (batch.Header, []byte, error) {
	var prefix [batch.LogOverhead]byte
	n, err := io.ReadFull(br.r, prefix[:])
	if err == io.EOF {
		return batch.Header{}, nil, io.EOF
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return batch.Header{}, nil, fmt.Errorf("compaction: read: %w", err)
	}
	if err != nil {
		return batch.Header{}, nil, fmt.Errorf("%w: torn batch header after %d bytes", ErrCorruptInput, n)
	}
	length := int32(binary.BigEndian.Uint32(prefix[8:]))
	if length < batch.HeaderSize-batch.LogOverhead || length > maxBatchBytes {
		return batch.Header{}, nil, fmt.Errorf("%w: batch length %d", ErrCorruptInput, length)
	}
	br.buf.Reset()
	br.buf.Write(prefix[:])
	// ReadFrom grows the buffer as bytes arrive, so a corrupt length near
	// maxBatchBytes over a short input costs no more than the input.
	read, err := br.buf.ReadFrom(io.LimitReader(br.r, int64(length)))
	if err != nil {
		return batch.Header{}, nil, err
	}
	if read < int64(length) {
		return batch.Header{}, nil, fmt.Errorf("%w: torn batch of %d bytes, %d present",
			ErrCorruptInput, int(length)+batch.LogOverhead, read+batch.LogOverhead)
	}
	b := br.buf.Bytes()
	h, err := batch.Validate(b)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %w", ErrCorruptInput, err)
	}
	return h, b, nil
}

// scan calls fn with every batch of in, in order. The batch slice is only
// valid during the call.
func scan(in Input, fn func(h batch.Header, b []byte) error) (err error) {
	rc, err := in.Open()
	if err != nil {
		return fmt.Errorf("compaction: open %s: %w", in.Name, err)
	}
	defer func() {
		if cerr := rc.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("compaction: close %s: %w", in.Name, cerr)
		}
	}()
	br := newBatchReader(rc)
	var pos int64
	for {
		h, b, err := br.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("compaction: %s at byte %d: %w", in.Name, pos, err)
		}
		if err := fn(h, b); err != nil {
			return err
		}
		pos += int64(len(b))
	}
}
