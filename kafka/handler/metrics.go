package handler

import (
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/kafka/wire"
	"github.com/sluice-mq/sluice/messages"
)

// Metrics count the Kafka listener's requests by API key (label api,
// Kafka's name: Produce, Fetch, ...) and error, and time them. One set per
// node; a nil *Metrics records nothing.
type Metrics struct {
	// Requests counts answered requests by api and error: the first
	// non-zero error code of the response (top-level, then per topic or
	// partition, in response order) by its Kafka name, NONE when there is
	// none.
	Requests *prometheus.CounterVec
	// Duration is the time from a request's decoding to its answer being
	// ready (long polls, acks=all and coordinator waits included).
	Duration *prometheus.HistogramVec
}

// NewMetrics creates the listener metrics (not yet registered).
func NewMetrics() *Metrics {
	return &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "kafka_requests_total",
			Help: "Requests answered by the Kafka listener, by API key and first error code of the response.",
		}, []string{"api", "error"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sluice", Name: "kafka_request_duration_seconds",
			Help:    "Time from a Kafka request's decoding to its answer, by API key.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}, []string{"api"}),
	}
}

// Register registers the metrics with r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	if err := r.Register(m.Requests); err != nil {
		return err
	}
	return r.Register(m.Duration)
}

// observe records one answered request of key that started at start.
func (m *Metrics) observe(key int16, resp kmsg.Response, start time.Time) {
	if m == nil {
		return
	}
	api := kmsg.NameForKey(key)
	m.Duration.WithLabelValues(api).Observe(time.Since(start).Seconds())
	m.Requests.WithLabelValues(api, errorLabel(resp)).Inc()
}

// errorLabel is the name of the first non-zero error code in resp.
func errorLabel(resp kmsg.Response) string {
	if resp == nil {
		return messages.ErrorCode_NONE.String()
	}
	if ff, ok := resp.(*wire.FileFetch); ok {
		resp = ff.FetchResponse // the kmsg struct under the file ranges
	}
	return messages.ErrorCode(firstError(reflect.ValueOf(resp))).String()
}

var errorCodeType = reflect.TypeFor[int16]()

// firstError walks a kmsg response struct depth first and returns the
// first non-zero int16 field named ErrorCode, 0 when there is none. Byte
// slices (records) are not looked into.
func firstError(v reflect.Value) int16 {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return 0
		}
		return firstError(v.Elem())
	case reflect.Struct:
		t := v.Type()
		if f, ok := t.FieldByName("ErrorCode"); ok && f.Type == errorCodeType {
			if c := int16(v.FieldByIndex(f.Index).Int()); c != 0 {
				return c
			}
		}
		for i := range t.NumField() {
			if k := t.Field(i).Type.Kind(); k == reflect.Slice || k == reflect.Struct {
				if c := firstError(v.Field(i)); c != 0 {
					return c
				}
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return 0
		}
		for i := range v.Len() {
			if c := firstError(v.Index(i)); c != 0 {
				return c
			}
		}
	}
	return 0
}
