package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client/admin"
	"github.com/sluice-mq/sluice/messages"
)

func TestResetSpec(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		req  resetRequest
		want admin.ResetSpec
	}{
		{resetRequest{To: "earliest"}, admin.ResetSpec{Target: admin.ToEarliest}},
		{resetRequest{To: "latest"}, admin.ResetSpec{Target: admin.ToLatest}},
		{resetRequest{To: "offset", Offset: 7}, admin.ResetSpec{Target: admin.ToOffset, Offset: 7}},
		{resetRequest{To: "shift", Shift: -3}, admin.ResetSpec{Target: admin.ShiftBy, Shift: -3}},
		{resetRequest{To: "datetime", Datetime: "2026-01-02T03:04:05Z"}, admin.ResetSpec{Target: admin.ToDatetime, Time: at}},
	} {
		got, err := tc.req.spec()
		if err != nil || got.Target != tc.want.Target || got.Offset != tc.want.Offset || got.Shift != tc.want.Shift || !got.Time.Equal(tc.want.Time) {
			t.Errorf("%+v: %+v, %v; want %+v", tc.req, got, err, tc.want)
		}
	}
	for _, bad := range []resetRequest{{To: ""}, {To: "sideways"}, {To: "offset", Offset: -1}, {To: "datetime", Datetime: "now"}} {
		if _, err := bad.spec(); !errors.Is(err, errBadRequest) {
			t.Errorf("%+v: %v, want a bad request", bad, err)
		}
	}
}

func TestTimestampParam(t *testing.T) {
	if ms, err := timestampParam("1700000000000"); err != nil || ms != 1700000000000 {
		t.Errorf("ms: %d, %v", ms, err)
	}
	if ms, err := timestampParam("2026-01-02T03:04:05Z"); err != nil || ms != time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli() {
		t.Errorf("RFC 3339: %d, %v", ms, err)
	}
	if ms, err := timestampParam("2026-01-02"); err != nil || ms != time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC).UnixMilli() {
		t.Errorf("a date: %d, %v", ms, err)
	}
	for _, bad := range []string{"-5", "yesterday", "02/01/2026"} {
		if _, err := timestampParam(bad); !errors.Is(err, errBadRequest) {
			t.Errorf("%q: %v, want a bad request", bad, err)
		}
	}
}

func TestWriteErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{badRequest("x"), 400, ""},
		{errNotFound, 404, ""},
		{&admin.ActiveGroupError{Group: "g", State: "Stable", Members: 1}, 409, ""},
		{messages.ErrorForCode(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "t"), 404, "UNKNOWN_TOPIC_OR_PARTITION"},
		{messages.ErrorForCode(messages.ErrorCode_TOPIC_ALREADY_EXISTS, "t"), 409, "TOPIC_ALREADY_EXISTS"},
		{messages.ErrorForCode(messages.ErrorCode_INVALID_CONFIG, "t"), 400, "INVALID_CONFIG"},
		{messages.ErrorForCode(messages.ErrorCode_REQUEST_TIMED_OUT, "t"), 503, "REQUEST_TIMED_OUT"},
		{errors.New("boom"), 500, ""},
	} {
		rec := httptest.NewRecorder()
		writeError(rec, tc.err)
		var body apiError
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tc.status || body.Code != tc.code || body.Error == "" {
			t.Errorf("%v: %d %s; want %d code %q", tc.err, rec.Code, rec.Body, tc.status, tc.code)
		}
	}
}

// The pages and the API's own refusals need no cluster: no client starts.
func TestPagesAndGate(t *testing.T) {
	ready := errors.New("node starting")
	c := New(Config{Ready: func() error { return ready }})
	mux := http.NewServeMux()
	c.Register(mux)
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	if rec := get("/ui/"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "<title>Sluice console</title>") {
		t.Errorf("/ui/: %d %.80s", rec.Code, rec.Body)
	}
	if rec := get("/ui/app.js"); rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), "javascript") {
		t.Errorf("/ui/app.js: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec := get("/ui"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/ui/" {
		t.Errorf("/ui: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if rec := get("/api/topics"); rec.Code != 503 || !strings.Contains(rec.Body.String(), "node starting") {
		t.Errorf("/api/topics while starting: %d %s", rec.Code, rec.Body)
	}
	if rec := get("/api/nope"); rec.Code != 404 || !strings.Contains(rec.Body.String(), "no API route GET /api/nope") {
		t.Errorf("/api/nope: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		origin, ctype, want string
		status              int
	}{
		{"http://evil.example", "application/json", "Origin \"http://evil.example\" is not this server", 403},
		{"", "text/plain", "Content-Type \"text/plain\": want application/json", 400},
		{"http://example.com", "application/json; charset=utf-8", "node starting", 503}, // passes the guard
	} {
		req := httptest.NewRequest("POST", "/api/topics", strings.NewReader(`{"name":"x","partitions":1}`))
		req.Header.Set("Content-Type", tc.ctype)
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var body apiError
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tc.status || !strings.Contains(body.Error, tc.want) {
			t.Errorf("POST from %q as %q: %d %s; want %d %q", tc.origin, tc.ctype, rec.Code, rec.Body, tc.status, tc.want)
		}
	}
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// FuzzResetBody: any body decodes to a request or a bad request, and a
// decoded request's spec is a valid target or a bad request.
func FuzzResetBody(f *testing.F) {
	f.Add([]byte(`{"topic":"t","to":"datetime","datetime":"2026-01-02T03:04:05Z","execute":true}`))
	f.Add([]byte(`{"topic":"t","partitions":[0,1],"to":"shift","shift":-3}`))
	f.Add([]byte(`{"to":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/groups/g/reset-offsets", bytes.NewReader(body))
		var req resetRequest
		if err := decodeBody(r, &req); err != nil {
			if !errors.Is(err, errBadRequest) {
				t.Fatalf("decode error %v is not a bad request", err)
			}
			return
		}
		spec, err := req.spec()
		if err != nil && !errors.Is(err, errBadRequest) {
			t.Fatalf("spec error %v is not a bad request", err)
		}
		if err == nil && (spec.Target < admin.ToEarliest || spec.Target > admin.ShiftBy) {
			t.Fatalf("spec %+v", spec)
		}
	})
}
