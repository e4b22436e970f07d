package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// MaxDecompressedBytes bounds how large a compressed records section may
// grow when decompressed; larger ones fail with ErrDecompressLimit before
// more than the limit is allocated, so a small "zip bomb" cannot exhaust
// memory. Set it at start-up, before any batch is decoded.
var MaxDecompressedBytes = 64 << 20

// The decoders are pooled with the bytes.Reader they read from so that a
// decompression allocates none of them.
type gzipDecoder struct {
	r   gzip.Reader
	src bytes.Reader
}

type lz4Decoder struct {
	r   *lz4.Reader
	src bytes.Reader
}

type zstdDecoder struct {
	d     *zstd.Decoder
	limit int // the MaxDecompressedBytes d was built with
}

var (
	gzipDecoders = sync.Pool{New: func() any { return new(gzipDecoder) }}
	lz4Decoders  = sync.Pool{New: func() any { return &lz4Decoder{r: lz4.NewReader(nil)} }}
	zstdDecoders sync.Pool
)

func getZstdDecoder(limit int) (*zstdDecoder, error) {
	if z, ok := zstdDecoders.Get().(*zstdDecoder); ok && z.limit == limit {
		return z, nil
	}
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(limit)),
	)
	if err != nil {
		return nil, fmt.Errorf("batch: zstd decoder: %w", err)
	}
	z := &zstdDecoder{d: d, limit: limit}
	runtime.AddCleanup(z, func(d *zstd.Decoder) { d.Close() }, d)
	return z, nil
}

// decompress decompresses src into dst's storage (from index 0) and
// returns the result, refusing output larger than limit. With a nil dst the
// result is a fresh buffer.
func decompress(dst []byte, codec Codec, src []byte, limit int) ([]byte, error) {
	dst = dst[:0]
	if cap(dst) == 0 && (codec == CodecGzip || codec == CodecLZ4) {
		// The streamed codecs do not declare their output size; guess a
		// 4:1 ratio (snappy and zstd size their output exactly).
		dst = make([]byte, 0, min(4*len(src)+4<<10, limit+1))
	}
	var err error
	switch codec {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		d := gzipDecoders.Get().(*gzipDecoder)
		d.src.Reset(src)
		if err = d.r.Reset(&d.src); err == nil {
			dst, err = readBounded(dst, &d.r, limit)
		}
		d.src.Reset(nil)
		gzipDecoders.Put(d)
	case CodecSnappy:
		dst, err = decompressSnappy(dst, src, limit)
	case CodecLZ4:
		d := lz4Decoders.Get().(*lz4Decoder)
		d.src.Reset(src)
		d.r.Reset(&d.src)
		dst, err = readBounded(dst, d.r, limit)
		d.src.Reset(nil)
		lz4Decoders.Put(d)
	case CodecZstd:
		var z *zstdDecoder
		if z, err = getZstdDecoder(limit); err == nil {
			dst, err = z.d.DecodeAll(src, dst)
			zstdDecoders.Put(z)
			// The decoder's window is bounded by the limit too: a frame
			// needing a larger one would need more memory than allowed.
			if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
				err = fmt.Errorf("%w: %w", ErrDecompressLimit, err)
			}
		}
	default:
		return nil, fmt.Errorf("%w: %d", ErrUnknownCodec, codec)
	}
	if err != nil {
		if errors.Is(err, ErrDecompressLimit) {
			return nil, fmt.Errorf("%s: %w (limit %d bytes)", codec, err, limit)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrDecompress, codec, err)
	}
	return dst, nil
}

// readBounded reads r to EOF, appending to dst, and fails once more than
// limit bytes arrive; it never grows dst beyond limit+1 bytes.
func readBounded(dst []byte, r io.Reader, limit int) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			grow := max(cap(dst), 4<<10)
			grow = min(grow, limit+1-len(dst))
			dst = slices.Grow(dst, grow)
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return nil, ErrDecompressLimit
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// xerialMagic starts the framing Java's snappy-java stream writes: the
// magic, a version and a minimum compatible version (4 bytes each), then
// blocks of a big-endian i32 length and a raw snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

var errBadXerial = errors.New("malformed xerial framing")

func decompressSnappy(dst, src []byte, limit int) ([]byte, error) {
	if len(src) >= xerialHeaderSize && bytes.HasPrefix(src, xerialMagic) {
		return decompressXerial(dst, src[xerialHeaderSize:], limit)
	}
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, ErrDecompressLimit
	}
	return s2.Decode(slices.Grow(dst, n), src)
}

// decompressXerial sums and bounds the blocks' claimed sizes first, so dst
// grows once and a bomb is refused before any allocation.
func decompressXerial(dst, src []byte, limit int) ([]byte, error) {
	total := 0
	for rem := src; len(rem) > 0; {
		if len(rem) < 4 {
			return nil, errBadXerial
		}
		size := binary.BigEndian.Uint32(rem)
		rem = rem[4:]
		if uint64(size) > uint64(len(rem)) {
			return nil, errBadXerial
		}
		n, err := s2.DecodedLen(rem[:size])
		if err != nil {
			return nil, err
		}
		if total += n; total > limit {
			return nil, ErrDecompressLimit
		}
		rem = rem[size:]
	}
	dst = slices.Grow(dst, total)
	for len(src) > 0 {
		size := binary.BigEndian.Uint32(src)
		block := src[4 : 4+size]
		src = src[4+size:]
		n, err := s2.DecodedLen(block)
		if err != nil {
			return nil, err
		}
		if _, err := s2.Decode(dst[len(dst):len(dst)+n], block); err != nil {
			return nil, err
		}
		dst = dst[:len(dst)+n]
	}
	return dst, nil
}

// bufPool holds decompression buffers for ForEach.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

func putBuf(p *[]byte, b []byte) {
	if cap(b) > maxPooledSize {
		return
	}
	*p = b[:0]
	bufPool.Put(p)
}
