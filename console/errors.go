package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/sluice-mq/sluice/client/admin"
	"github.com/sluice-mq/sluice/messages"
)

// Errors of bad requests, answered 400, 403, 404 and 409.
var (
	errBadRequest = errors.New("console: bad request")
	errForbidden  = errors.New("console: forbidden")
	errNotFound   = errors.New("console: not found")
	errConflict   = errors.New("console: conflict")
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 64 << 10

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
	// Code is the broker's error code name when the broker refused.
	Code string `json:"code,omitempty"`
}

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// writeError answers err with the status it maps to and a JSON body.
func writeError(w http.ResponseWriter, err error) {
	body := apiError{Error: err.Error()}
	status := http.StatusInternalServerError
	var be *messages.Error
	switch {
	case errors.Is(err, errBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, errForbidden):
		status = http.StatusForbidden
	case errors.Is(err, errNotFound):
		status = http.StatusNotFound
	case errors.Is(err, errConflict), errors.Is(err, admin.ErrGroupActive):
		status = http.StatusConflict
	case errors.Is(err, ErrClosed):
		status = http.StatusServiceUnavailable
	case errors.As(err, &be):
		body.Code = be.Code.String()
		status = brokerStatus(be.Code)
	}
	writeJSON(w, status, body)
}

// brokerStatus maps a broker error code to an HTTP status: the caller's
// mistakes are 4xx, the cluster's trouble 5xx.
func brokerStatus(code messages.ErrorCode) int {
	switch code {
	case messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, messages.ErrorCode_GROUP_ID_NOT_FOUND:
		return http.StatusNotFound
	case messages.ErrorCode_TOPIC_ALREADY_EXISTS, messages.ErrorCode_NON_EMPTY_GROUP:
		return http.StatusConflict
	case messages.ErrorCode_INVALID_TOPIC_EXCEPTION, messages.ErrorCode_INVALID_PARTITIONS,
		messages.ErrorCode_INVALID_REPLICATION_FACTOR, messages.ErrorCode_INVALID_CONFIG,
		messages.ErrorCode_INVALID_REQUEST, messages.ErrorCode_POLICY_VIOLATION,
		messages.ErrorCode_OFFSET_OUT_OF_RANGE, messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT:
		return http.StatusBadRequest
	}
	if messages.IsRetriable(&messages.Error{Code: code}) {
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads r's JSON body into v: one object, no unknown fields.
// The API wraps every body in a reader of at most maxBodyBytes.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return badRequest("body over %d bytes", maxBodyBytes)
		}
		if errors.Is(err, io.EOF) {
			return badRequest("empty body: want a JSON object")
		}
		return badRequest("body: %v", err)
	}
	if dec.More() {
		return badRequest("body: more than one JSON value")
	}
	return nil
}

// intParam parses query parameter name as an integer in [lo, hi]; def when
// it is absent.
func intParam(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, badRequest("%s %q: want an integer from %d to %d", name, s, lo, hi)
	}
	return v, nil
}
