package handler

import (
	"reflect"
	"sync"
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

// walkPlan is what firstError looks at in a struct type: the index of its
// int16 ErrorCode field (-1 without one) and the fields that may hold
// more (structs and slices other than bytes). Plans are derived
// once per type: kmsg's response types are few and fixed.
type walkPlan struct {
	errorCode int
	descend   []int
}

var walkPlans sync.Map // reflect.Type -> *walkPlan

func planOf(t reflect.Type) *walkPlan {
	if p, ok := walkPlans.Load(t); ok {
		return p.(*walkPlan)
	}
	p := &walkPlan{errorCode: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		switch {
		case f.Name == "ErrorCode" && f.Type == errorCodeType:
			p.errorCode = i
		case f.Type.Kind() == reflect.Struct,
			f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() != reflect.Uint8:
			p.descend = append(p.descend, i)
		}
	}
	walkPlans.Store(t, p)
	return p
}

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
		p := planOf(v.Type())
		if p.errorCode >= 0 {
			if c := int16(v.Field(p.errorCode).Int()); c != 0 {
				return c
			}
		}
		for _, i := range p.descend {
			if c := firstError(v.Field(i)); c != 0 {
				return c
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
