package batch

import "fmt"

// Codec is the compression codec of a batch's records section (attribute
// bits 0-2).
type Codec int8

// The codecs of Kafka's v2 format.
const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLZ4    Codec = 3
	CodecZstd   Codec = 4
)

var codecNames = [...]string{"none", "gzip", "snappy", "lz4", "zstd"}

func (c Codec) String() string {
	if c >= 0 && int(c) < len(codecNames) {
		return codecNames[c]
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// ParseCodec maps a compression.type name ("none", "gzip", "snappy", "lz4",
// "zstd"; "uncompressed" is an alias of none) to its Codec.
func ParseCodec(name string) (Codec, error) {
	if name == "uncompressed" || name == "" {
		return CodecNone, nil
	}
	for i, n := range codecNames {
		if n == name {
			return Codec(i), nil
		}
	}
	return 0, fmt.Errorf("batch: unknown compression codec %q", name)
}
