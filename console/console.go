package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/client"
)

// requestTimeout bounds the work of one API request.
const requestTimeout = 15 * time.Second

// ErrClosed is returned by API calls after Close.
var ErrClosed = errors.New("console: closed")

//go:embed ui
var assets embed.FS

// Config configures a Console.
type Config struct {
	// Seeds are the actor remote addresses the console's client connects
	// to: the node's own.
	Seeds []string
	// Ready reports why the node cannot serve API requests yet (starting,
	// stopping), nil when it can. nil means always ready.
	Ready func() error
}

// Console serves the API and the pages. Its client starts on the first
// API request and stops on Close.
type Console struct {
	cfg Config

	mu     sync.Mutex
	cl     *client.Client
	closed bool
}

// New returns a console; it starts nothing until it serves a request.
func New(cfg Config) *Console {
	return &Console{cfg: cfg}
}

// Register adds the console's routes (/ui/ and /api/) to mux.
func (c *Console) Register(mux *http.ServeMux) {
	ui, err := fs.Sub(assets, "ui")
	if err != nil {
		panic(err) // the embedded tree always has ui/
	}
	mux.Handle("GET /ui/", http.StripPrefix("/ui/", http.FileServerFS(ui)))
	mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	mux.HandleFunc("GET /api/cluster", c.api(c.getCluster))
	mux.HandleFunc("GET /api/topics", c.api(c.listTopics))
	mux.HandleFunc("POST /api/topics", c.api(c.createTopic))
	mux.HandleFunc("GET /api/topics/{topic}", c.api(c.getTopic))
	mux.HandleFunc("PATCH /api/topics/{topic}/configs", c.api(c.alterConfigs))
	mux.HandleFunc("DELETE /api/topics/{topic}", c.api(c.deleteTopic))
	mux.HandleFunc("GET /api/topics/{topic}/messages", c.api(c.browse))
	mux.HandleFunc("GET /api/groups", c.api(c.listGroups))
	mux.HandleFunc("GET /api/groups/{group}", c.api(c.getGroup))
	mux.HandleFunc("POST /api/groups/{group}/reset-offsets", c.api(c.resetOffsets))
	mux.HandleFunc("GET /api/reassignments", c.api(c.listReassignments))
	mux.HandleFunc("POST /api/reassignments", c.api(c.reassign))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%w: no API route %s %s", errNotFound, r.Method, r.URL.Path))
	})
}

// handlerFunc is one API call: it returns the value to answer as JSON.
type handlerFunc func(ctx context.Context, cl *client.Client, r *http.Request) (any, error)

// api wraps h: it bounds the request's time, hands h the client and
// writes h's answer or error as JSON.
func (c *Console) api(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if err := sameOrigin(r); err != nil {
			writeError(w, err)
			return
		}
		if c.cfg.Ready != nil {
			if err := c.cfg.Ready(); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, apiError{Error: err.Error()})
				return
			}
		}
		cl, err := c.client(ctx)
		if err != nil {
			writeError(w, err)
			return
		}
		out, err := h(ctx, cl, r)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// client returns the console's client, starting it on first use. It
// listens on loopback: it shares the node's host. Its logs are dropped, as
// the CLI's are; failures reach the caller as API errors.
func (c *Console) client(ctx context.Context) (*client.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.cl != nil {
		return c.cl, nil
	}
	cl, err := client.New(ctx, client.Config{Seeds: c.cfg.Seeds, ListenHost: "127.0.0.1"})
	if err != nil {
		return nil, fmt.Errorf("console: start client: %w", err)
	}
	c.cl = cl
	return cl, nil
}

// Close stops the console's client; later API calls fail with ErrClosed.
func (c *Console) Close(ctx context.Context) error {
	c.mu.Lock()
	cl := c.cl
	c.cl, c.closed = nil, true
	c.mu.Unlock()
	if cl == nil {
		return nil
	}
	return cl.Close(ctx)
}

// sameOrigin refuses a changing request that a page of another site could
// have sent from an operator's browser: its Origin, when the browser sends
// one, must be this server, and a body must be declared JSON (which a
// cross-site form cannot do, and a cross-site fetch only after a CORS
// preflight this server never grants).
func sameOrigin(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host != r.Host {
			return fmt.Errorf("%w: Origin %q is not this server (%s)", errForbidden, origin, r.Host)
		}
	}
	if r.ContentLength != 0 {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "application/json" {
			return badRequest("Content-Type %q: want application/json", r.Header.Get("Content-Type"))
		}
	}
	return nil
}
