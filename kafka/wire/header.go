package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// minHeaderLen is api_key + api_version + correlation_id.
const minHeaderLen = 8

// apiVersionsKey is the key of ApiVersions, whose response header is
// always v0 and whose unsupported versions are answered, not refused.
const apiVersionsKey = 18

// Header errors. ErrMalformed closes the connection; an *UnsupportedError
// is answered for ApiVersions and closes the connection otherwise, as
// Kafka does.
var (
	ErrMalformed   = errors.New("wire: malformed request")
	ErrUnsupported = errors.New("wire: unsupported api key or version")
)

// UnsupportedError is a request whose key or version is not served.
type UnsupportedError struct {
	Key, Version  int16
	CorrelationID int32
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: key %d (%s) version %d", ErrUnsupported, e.Key, kmsg.NameForKey(e.Key), e.Version)
}

// Unwrap makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// Header is a decoded request header.
type Header struct {
	Key, Version  int16
	CorrelationID int32
	// ClientID is "" for header v0 and for a null client id.
	ClientID string
}

// Request is one decoded request frame.
type Request struct {
	Header
	// Body is the kmsg request at Header.Version.
	Body kmsg.Request
}

// ParseRequest decodes a frame read by ReadFrame. Keys and versions
// outside the table are an *UnsupportedError carrying the correlation id;
// anything that does not decode is ErrMalformed.
func ParseRequest(frame []byte) (*Request, error) {
	if len(frame) < minHeaderLen {
		return nil, fmt.Errorf("%w: %d byte header", ErrMalformed, len(frame))
	}
	h := Header{
		Key:           int16(binary.BigEndian.Uint16(frame[0:])),
		Version:       int16(binary.BigEndian.Uint16(frame[2:])),
		CorrelationID: int32(binary.BigEndian.Uint32(frame[4:])),
	}
	if !Supported(h.Key, h.Version) {
		return nil, &UnsupportedError{Key: h.Key, Version: h.Version, CorrelationID: h.CorrelationID}
	}
	body := kmsg.RequestForKey(h.Key)
	body.SetVersion(h.Version)
	rest := frame[minHeaderLen:]
	// Every request header past v0 carries the client id (ControlledShutdown
	// v0 alone used header v0; it is not served).
	id, rest, err := readNullableString(rest)
	if err != nil {
		return nil, err
	}
	h.ClientID = id
	if body.IsFlexible() {
		if rest, err = skipTags(rest); err != nil {
			return nil, err
		}
	}
	if err := body.ReadFrom(rest); err != nil {
		return nil, fmt.Errorf("%w: %s v%d body: %v", ErrMalformed, kmsg.NameForKey(h.Key), h.Version, err)
	}
	return &Request{Header: h, Body: body}, nil
}

func readNullableString(b []byte) (string, []byte, error) {
	if len(b) < 2 {
		return "", nil, fmt.Errorf("%w: client id", ErrMalformed)
	}
	n := int16(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n < 0 {
		if n != -1 {
			return "", nil, fmt.Errorf("%w: client id length %d", ErrMalformed, n)
		}
		return "", b, nil
	}
	if len(b) < int(n) {
		return "", nil, fmt.Errorf("%w: client id", ErrMalformed)
	}
	return string(b[:n]), b[n:], nil
}

// skipTags skips a header's tagged fields (none are defined for request
// headers; unknown tags are ignored as the protocol requires).
func skipTags(b []byte) ([]byte, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) {
		return nil, fmt.Errorf("%w: header tagged fields", ErrMalformed)
	}
	b = b[n:]
	for range count {
		if _, n = binary.Uvarint(b); n <= 0 {
			return nil, fmt.Errorf("%w: header tag", ErrMalformed)
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return nil, fmt.Errorf("%w: header tag size", ErrMalformed)
		}
		b = b[n+int(size):]
	}
	return b, nil
}
