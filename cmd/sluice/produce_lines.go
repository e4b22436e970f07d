package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sluice-mq/sluice/client"
)

// lineFormat is how produce turns a line of input into a record.
type lineFormat struct {
	topic     string
	partition int32
	// keySep splits a line into key and value at its first occurrence.
	keySep string
	// key is the key of every record when keySep is empty (-k).
	key     []byte
	hasKey  bool
	headers []client.RecordHeader
	maxLine int
	// skipBad skips a line without keySep (reported on warn) instead of
	// failing the run.
	skipBad bool
	warn    io.Writer
}

// parseHeaders reads -H key=value flags.
func parseHeaders(specs []string) ([]client.RecordHeader, error) {
	var hs []client.RecordHeader
	for _, spec := range specs {
		k, v, ok := strings.Cut(spec, "=")
		if !ok || k == "" {
			return nil, usagef("--header %q: want key=value", spec)
		}
		hs = append(hs, client.RecordHeader{Key: k, Value: []byte(v)})
	}
	return hs, nil
}

// lineScanner yields the records of an input, one per line.
type lineScanner struct {
	f       lineFormat
	sc      *bufio.Scanner
	sep     []byte
	rec     client.Record
	line    int
	skipped int
	err     error
}

func newLineScanner(in io.Reader, f lineFormat) *lineScanner {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, min(64<<10, f.maxLine)), f.maxLine)
	s := &lineScanner{f: f, sc: sc, sep: []byte(f.keySep)}
	s.rec = client.Record{Topic: f.topic, Partition: f.partition, Headers: f.headers}
	return s
}

// next returns the next line's record, or nil at the end of the input or
// on an error (see err). The record and its bytes are reused by the
// following call: the producer copies what it keeps before ProduceAsync
// returns.
func (s *lineScanner) next() *client.Record {
	for s.err == nil && s.sc.Scan() {
		s.line++
		text := bytes.TrimSuffix(s.sc.Bytes(), []byte("\r"))
		s.rec.Key, s.rec.Value = nil, text
		if s.f.hasKey {
			s.rec.Key = s.f.key
		}
		if len(s.sep) == 0 {
			return &s.rec
		}
		k, v, ok := bytes.Cut(text, s.sep)
		if ok {
			s.rec.Key, s.rec.Value = k, v
			return &s.rec
		}
		if !s.f.skipBad {
			s.err = badLineError(s.line, s.f.keySep)
			return nil
		}
		s.skipped++
		if s.f.warn != nil {
			fmt.Fprintf(s.f.warn, "skipped line %d: no key separator %q\n", s.line, s.f.keySep)
		}
	}
	if s.err == nil {
		if err := s.sc.Err(); err != nil {
			s.err = err
			if errors.Is(err, bufio.ErrTooLong) {
				s.err = fmt.Errorf("line %d is longer than %d bytes (raise --max-line-bytes, which follows --max-request-bytes)", s.line+1, s.f.maxLine)
			}
		}
	}
	return nil
}

func badLineError(line int, sep string) error {
	return fmt.Errorf("line %d: no key separator %q (--skip-bad-lines skips such lines)", line, sep)
}

// checkLines reads every line of in with f and returns the first line
// that produce would refuse, so that a file is refused before anything
// is sent.
func checkLines(in io.Reader, f lineFormat) error {
	f.skipBad = false
	s := newLineScanner(in, f)
	for s.next() != nil {
	}
	return s.err
}
