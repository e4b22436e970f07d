package batch

import (
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression settings. They favour speed: a broker and its producers
// compress every batch on the hot path.
const (
	gzipLevel     = gzip.BestSpeed
	zstdLevel     = zstd.SpeedFastest
	zstdWindow    = 64 << 10
	lz4BlockSize  = lz4.Block64Kb
	lz4Level      = lz4.Fast
	maxPooledSize = 8 << 20 // buffers above this are dropped, not pooled
)

// appendWriter is an io.Writer that appends to a slice, so stream codecs
// write straight into the caller's buffer.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

type gzipEncoder struct {
	w   *gzip.Writer
	out appendWriter
}

type lz4Encoder struct {
	w   *lz4.Writer
	out appendWriter
}

var (
	gzipEncoders = sync.Pool{New: func() any {
		w, err := gzip.NewWriterLevel(nil, gzipLevel)
		if err != nil {
			panic(fmt.Sprintf("batch: gzip level %d: %v", gzipLevel, err)) // constant level; cannot happen
		}
		return &gzipEncoder{w: w}
	}}
	lz4Encoders = sync.Pool{New: func() any {
		w := lz4.NewWriter(nil)
		if err := w.Apply(lz4.BlockSizeOption(lz4BlockSize), lz4.CompressionLevelOption(lz4Level)); err != nil {
			panic(fmt.Sprintf("batch: lz4 options: %v", err)) // constant options; cannot happen
		}
		return &lz4Encoder{w: w}
	}}
	zstdEncoders = sync.Pool{New: func() any {
		// With concurrency 1 and only EncodeAll, the encoder starts no
		// goroutines, so dropping it from the pool leaks nothing.
		e, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstdLevel),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithZeroFrames(true),
		)
		if err != nil {
			panic(fmt.Sprintf("batch: zstd options: %v", err)) // constant options; cannot happen
		}
		return e
	}}
)

// compress appends src compressed with codec to dst. CodecNone appends src
// unchanged. Snappy is written as one raw snappy block, as librdkafka and
// franz-go do; every Kafka client and broker reads that as well as the
// xerial framing Java writes.
func compress(dst []byte, codec Codec, src []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		e := gzipEncoders.Get().(*gzipEncoder)
		e.out.b = dst
		e.w.Reset(&e.out)
		_, err := e.w.Write(src)
		if err == nil {
			err = e.w.Close()
		}
		dst, e.out.b = e.out.b, nil
		gzipEncoders.Put(e)
		if err != nil {
			return nil, fmt.Errorf("batch: gzip: %w", err)
		}
		return dst, nil
	case CodecSnappy:
		n := s2.MaxEncodedLen(len(src))
		if n < 0 {
			return nil, fmt.Errorf("%w: %d bytes too large for snappy", ErrBatchTooLarge, len(src))
		}
		dst = slices.Grow(dst, n)
		block := s2.EncodeSnappy(dst[len(dst):], src) // encodes in place: the capacity is there
		return dst[:len(dst)+len(block)], nil
	case CodecLZ4:
		e := lz4Encoders.Get().(*lz4Encoder)
		e.out.b = dst
		e.w.Reset(&e.out)
		_, err := e.w.Write(src)
		if err == nil {
			err = e.w.Close()
		}
		dst, e.out.b = e.out.b, nil
		e.w.Reset(nil)
		lz4Encoders.Put(e)
		if err != nil {
			return nil, fmt.Errorf("batch: lz4: %w", err)
		}
		return dst, nil
	case CodecZstd:
		e := zstdEncoders.Get().(*zstd.Encoder)
		dst = e.EncodeAll(src, dst)
		zstdEncoders.Put(e)
		return dst, nil
	default:
		return nil, fmt.Errorf("%w: %d", ErrUnknownCodec, codec)
	}
}
