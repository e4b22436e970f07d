package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// frame encodes req as a client does: length, header v1/v2, body.
func frame(req kmsg.Request, corr int32, clientID string) []byte {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))
	return f.AppendRequest(nil, req, corr)
}

func TestParseRequestRoundTrip(t *testing.T) {
	for _, v := range []int16{0, 3, 9, 12} {
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(v)
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr("orders")
		req.Topics = append(req.Topics, rt)
		b := frame(req, 77, "cli")
		body, err := ReadFrame(bytes.NewReader(b), nil, DefaultMaxRequestBytes)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseRequest(body)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		m := got.Body.(*kmsg.MetadataRequest)
		if got.CorrelationID != 77 || got.ClientID != "cli" || got.Version != v || len(m.Topics) != 1 || *m.Topics[0].Topic != "orders" {
			t.Fatalf("v%d: %+v %+v", v, got.Header, m)
		}
	}
}

func TestParseRequestUnsupported(t *testing.T) {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(3) // below the served range
	_, err := ParseRequest(frame(req, 5, "")[4:])
	var u *UnsupportedError
	if !errors.As(err, &u) || u.CorrelationID != 5 || u.Key != 1 {
		t.Fatalf("err %v", err)
	}
	unknown := []byte{0, 99, 0, 0, 0, 0, 0, 9, 0xff, 0xff}
	if _, err := ParseRequest(unknown); !errors.As(err, &u) || u.Key != 99 {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestReadFrameLimits(t *testing.T) {
	over := binary.BigEndian.AppendUint32(nil, 2000)
	if _, err := ReadFrame(bytes.NewReader(over), nil, 1024); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("over limit: %v", err)
	}
	short := append(binary.BigEndian.AppendUint32(nil, 100), make([]byte, 10)...)
	if _, err := ReadFrame(bytes.NewReader(short), nil, 1024); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated: %v", err)
	}
	neg := binary.BigEndian.AppendUint32(nil, 0xffffff00)
	if _, err := ReadFrame(bytes.NewReader(neg), nil, 1024); !errors.Is(err, ErrFrameLength) {
		t.Fatalf("negative: %v", err)
	}
}

// TestServedTableMatchesKmsg keeps the table inside what kmsg can encode.
func TestServedTableMatchesKmsg(t *testing.T) {
	for k, r := range served {
		req := kmsg.RequestForKey(k)
		if req == nil || r.Max > req.MaxVersion() || r.Min > r.Max {
			t.Errorf("key %d: range %v, kmsg max %d", k, r, req.MaxVersion())
		}
	}
	for _, k := range ApiVersionsKeys() {
		if k.ApiKey == 0 && k.MinVersion != 0 {
			t.Errorf("Produce advertised from v%d, want v0 (KAFKA-18659)", k.MinVersion)
		}
	}
}

func TestApiVersionsHeaderV0(t *testing.T) {
	resp := ApiVersionsResponse(3, 0)
	b := AppendFrame(nil, 1, resp)
	// v3 is flexible, but the ApiVersions response header stays v0: the
	// body's error code follows the correlation id directly.
	if got := binary.BigEndian.Uint16(b[8:]); got != 0 {
		t.Fatalf("error code %d", got)
	}
	back := kmsg.NewPtrApiVersionsResponse()
	back.SetVersion(3)
	if err := back.ReadFrom(b[8:]); err != nil || len(back.ApiKeys) != len(served) {
		t.Fatalf("decode: %v %d keys", err, len(back.ApiKeys))
	}
}

// FuzzParseRequest feeds arbitrary streams to the framing and header
// decoding: no panic, and a request that decodes re-encodes.
func FuzzParseRequest(f *testing.F) {
	for _, v := range []int16{0, 9, 12} {
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(v)
		f.Add(frame(req, 1, "c"))
	}
	p := kmsg.NewPtrProduceRequest()
	p.SetVersion(9)
	f.Add(frame(p, 2, ""))
	av := kmsg.NewPtrApiVersionsRequest()
	av.SetVersion(3)
	f.Add(frame(av, 3, "x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			body, err := ReadFrame(r, nil, 1<<16)
			if err != nil {
				return
			}
			req, err := ParseRequest(body)
			if err != nil {
				var u *UnsupportedError
				if !errors.Is(err, ErrMalformed) && !errors.As(err, &u) {
					t.Fatalf("unexpected error type: %v", err)
				}
				continue
			}
			_ = req.Body.AppendTo(nil)
		}
	})
}
