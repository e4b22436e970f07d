package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxRequestBytes is Kafka's socket.request.max.bytes default.
const DefaultMaxRequestBytes = 100 << 20

// Framing errors. A connection that hits one of them is closed: the stream
// can no longer be read in step.
var (
	ErrFrameTooLarge = errors.New("wire: request frame larger than the limit")
	ErrFrameLength   = errors.New("wire: invalid request frame length")
	ErrTruncated     = errors.New("wire: truncated request")
)

// ReadFrame reads one length-prefixed frame from r into buf (grown as
// needed) and returns the frame without its length. A length above max or
// below the smallest request header is an error before anything more is
// read; a stream that ends inside a frame is ErrTruncated; io.EOF is
// returned only at a frame boundary.
func ReadFrame(r io.Reader, buf []byte, max int32) ([]byte, error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrTruncated
		}
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(lenBuf[:]))
	if n < minHeaderLen {
		return nil, fmt.Errorf("%w: %d", ErrFrameLength, n)
	}
	if n > max {
		return nil, fmt.Errorf("%w: %d > %d", ErrFrameTooLarge, n, max)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrTruncated
		}
		return nil, err
	}
	return buf, nil
}

// AppendFrame appends the response for correlationID: length, response
// header (v1 with empty tagged fields when flexible, v0 otherwise) and the
// body at the response's version.
func AppendFrame(dst []byte, correlationID int32, resp ResponseBody) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if resp.IsFlexible() && resp.Key() != apiVersionsKey {
		dst = append(dst, 0) // no tagged fields
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// ResponseBody is what AppendFrame needs of a kmsg response.
type ResponseBody interface {
	Key() int16
	IsFlexible() bool
	AppendTo([]byte) []byte
}
