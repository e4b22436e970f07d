package partition

import (
	"errors"
	"time"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// decompressionFactor ties the decompression bound of a batch to
// max.message.bytes: a records section may inflate to this many times the
// largest batch the topic accepts (never more than
// batch.MaxDecompressedBytes, never less than 1 MiB).
const decompressionFactor = 32

// checkOptions are the batch.Check options for this partition's topic.
func (c *Config) checkOptions(origin batch.Origin) batch.CheckOptions {
	return batch.CheckOptions{
		Origin:               origin,
		MaxUncompressedBytes: max(decompressionFactor*c.maxMessageBytes(), 1<<20),
		RequireKeys:          origin == batch.FromProducer && c.TopicConfig.Compacts(),
	}
}

// targetCodec is the codec the topic stores batches in; ok is false for
// compression.type=producer, which keeps the producer's.
func (c *Config) targetCodec() (batch.Codec, bool) {
	switch ct := c.TopicConfig.CompressionType; ct {
	case "", "producer":
		return 0, false
	case "uncompressed":
		return batch.CodecNone, true
	default:
		codec, err := batch.ParseCodec(ct)
		return codec, err == nil
	}
}

// prepareProduce vets a producer's batches (batch.Check, all or nothing)
// and applies the topic's compression.type and message.timestamp.type,
// as Kafka's log validator does on the leader: batches in another codec
// than the topic's are recompressed, and with LogAppendTime every batch is
// stamped with now. It returns the bytes to append: records itself
// (stamped in place) or a new buffer when a batch was recompressed. Errors
// carry Kafka's codes: CORRUPT_MESSAGE for damage (framing, CRC),
// INVALID_RECORD for well-framed batches that break the format,
// INVALID_TIMESTAMP for a producer claiming log append time.
func (r *replica) prepareProduce(records []byte, now time.Time) ([]byte, int64, error) {
	info, err := batch.Check(records, r.cfg.checkOptions(batch.FromProducer))
	if err != nil {
		return nil, -1, checkError(err)
	}
	if codec, ok := r.cfg.targetCodec(); ok && info.Codecs != 1<<codec {
		if records, err = recompress(records, codec, info.Batches); err != nil {
			return nil, -1, messages.Wrap(messages.ErrorCode_INVALID_RECORD, "recompress to %s: %v", codec, err)
		}
	}
	if r.cfg.TopicConfig.MessageTimestampType != metadata.TimestampLogAppendTime {
		return records, -1, nil
	}
	ms := now.UnixMilli()
	for rest := records; len(rest) > 0; {
		h, _ := batch.ParseHeader(rest)
		batch.SetLogAppendTime(rest[:h.Size()], ms)
		rest = rest[h.Size():]
	}
	return records, ms, nil
}

// recompress re-encodes every batch of the checked records whose codec is
// not codec into a new buffer.
func recompress(records []byte, codec batch.Codec, batches int) ([]byte, error) {
	out := make([]byte, 0, len(records)+batches*batch.HeaderSize)
	for rest := records; len(rest) > 0; {
		h, _ := batch.ParseHeader(rest)
		b := rest[:h.Size()]
		rest = rest[h.Size():]
		if h.Attributes.Codec() != codec {
			var err error
			if b, err = batch.Recompress(b, codec); err != nil {
				return nil, err
			}
		}
		out = append(out, b...)
	}
	return out, nil
}

// checkError maps a batch.Check error to a wire error.
func checkError(err error) error {
	switch {
	case errors.Is(err, batch.ErrInvalidTimestamp):
		return messages.Wrap(messages.ErrorCode_INVALID_TIMESTAMP, "%v", err)
	case errors.Is(err, batch.ErrInvalidBatch):
		return messages.Wrap(messages.ErrorCode_INVALID_RECORD, "%v", err)
	default: // damage: the framing or the CRC
		return messages.Wrap(messages.ErrorCode_CORRUPT_MESSAGE, "%v", err)
	}
}
