package wire

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FileBatches are a partition's record batches that live in a file: the
// connection sends them with Copy (sendfile for a TCP connection and an
// *os.File) instead of holding them in memory.
type FileBatches interface {
	// Len is the number of bytes Copy writes.
	Len() int64
	// Copy writes the batches to w; fewer than Len bytes is an error.
	Copy(w io.Writer) (int64, error)
	// Close releases the file; it is called once, sent or not.
	Close() error
}

// FileFetch is a Fetch response some of whose partitions' record batches
// are FileBatches. It is a kmsg.Response (the embedded FetchResponse) so
// that it travels where responses do; AppendFileFrame encodes it.
type FileFetch struct {
	*kmsg.FetchResponse
	// Files are the batches of the partitions they are keyed by, which
	// must be elements of the response's Topics[i].Partitions.
	Files map[*kmsg.FetchResponseTopicPartition]FileBatches
}

// Close releases every file.
func (f *FileFetch) Close() error {
	var errs []error
	for _, b := range f.Files {
		errs = append(errs, b.Close())
	}
	f.Files = nil
	return errors.Join(errs...)
}

// FileFrame is an encoded response frame in pieces: Chunks[0], Files[0],
// Chunks[1], Files[1], ..., Chunks[len(Files)], whose lengths add up to
// the frame's length prefix plus 4.
type FileFrame struct {
	Chunks [][]byte
	Files  []FileBatches
}

// WriteTo writes the frame to w, the files with their Copy.
func (f *FileFrame) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for i, c := range f.Chunks {
		n, err := w.Write(c)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if i < len(f.Files) {
			m, err := f.Files[i].Copy(w)
			total += m
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// fileMarker stands in for a file partition's batches while kmsg encodes
// the response; random per process, so no client can put it in a topic
// name or a record.
var fileMarker = func() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}()

// ErrFileFrame is returned when a file partition's place cannot be found
// in the encoded response (which would be a bug).
var ErrFileFrame = errors.New("wire: file batches not found in the encoded response")

// AppendFileFrame encodes f for correlationID as AppendFrame would if
// every file partition's RecordBatches held its file's bytes: kmsg
// encodes the response with a marker in their place, and the marker (with
// its length prefix) is cut out and replaced by the real length prefix
// and the file. The frame's first chunk starts at dst[len(dst)]; the
// grown dst is returned for reuse once the frame is written.
func AppendFileFrame(dst []byte, correlationID int32, f *FileFetch) (*FileFrame, []byte, error) {
	var order []FileBatches
	for i := range f.Topics {
		for j := range f.Topics[i].Partitions {
			p := &f.Topics[i].Partitions[j]
			if b, ok := f.Files[p]; ok {
				p.RecordBatches = fileMarker
				order = append(order, b)
			}
		}
	}
	start := len(dst)
	dst = AppendFrame(dst, correlationID, f.FetchResponse)
	flexible := f.IsFlexible()
	lengthOf := func(b []byte, n int) []byte {
		if flexible {
			return binary.AppendUvarint(b, uint64(n)+1) // compact bytes: length + 1
		}
		return binary.BigEndian.AppendUint32(b, uint32(n))
	}
	needle := lengthOf(nil, len(fileMarker))
	needle = append(needle, fileMarker...)
	frame := &FileFrame{Files: order}
	buf := dst[start:]
	size := int64(len(buf) - 4)
	cursor := 0
	for _, b := range order {
		i := bytes.Index(buf[cursor:], needle)
		if i < 0 {
			return nil, dst, fmt.Errorf("%w: %d files", ErrFileFrame, len(order))
		}
		i += cursor
		chunk := lengthOf(buf[cursor:i:i], int(b.Len()))
		frame.Chunks = append(frame.Chunks, chunk)
		size += int64(len(chunk)-(i-cursor)) - int64(len(needle)) + b.Len()
		cursor = i + len(needle)
	}
	frame.Chunks = append(frame.Chunks, buf[cursor:])
	if size > 1<<31-1 {
		return nil, dst, fmt.Errorf("%w: response of %d bytes", ErrFileFrame, size)
	}
	binary.BigEndian.PutUint32(frame.Chunks[0], uint32(size)) // chunk 0 starts with the frame
	for p := range f.Files {
		p.RecordBatches = []byte{} // the marker must not outlive the encoding
	}
	return frame, dst, nil
}
