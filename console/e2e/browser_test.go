package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pageTimeout bounds the wait for one page or one action in the browser.
const pageTimeout = 20 * time.Second

// browser is one headless Chromium tab on the console.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // screenshots

	mu     sync.Mutex
	errors []string // uncaught page exceptions
}

// startBrowser starts Debian's chromium (headless, no sandbox: tests run
// as root in containers) with one tab. `make test` installs chromium; a
// run without it fails, as the kcat tests do without kcat.
func startBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found (make chromium installs it): %v", err)
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1400, 1000), chromedp.Flag("disable-dev-shm-usage", true))
	// The browser lives as long as this context: no timeout on it, the
	// test's own deadline bounds it.
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx, base: base, dir: t.TempDir()}
	if d := os.Getenv("SLUICE_SCREENSHOT_DIR"); d != "" {
		b.dir = d
	}
	// Uncaught exceptions of the pages fail the test; the reader ends
	// with the browser's context.
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() {
				b.mu.Lock()
				b.errors = append(b.errors, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); cancelAlloc(); <-done })
	b.run("start", chromedp.Navigate(base+"/ui/"), b.waitPage("cluster"))
	return b
}

// run runs actions within pageTimeout and fails the test on error.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pageTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v (page error bar: %q)", what, err, b.text("#error"))
	}
}

// text is the text of the first element matching the CSS selector sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pageTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).textContent`, sel)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

func eval(expr string) chromedp.Action[chromedp.Void] { return chromedp.Evaluate[chromedp.Void](expr) }

// waitPage waits until the page named page has drawn its data.
func (b *browser) waitPage(page string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.body.dataset.page === %q`, page), chromedp.WithPollingTimeout(pageTimeout))
}

// open goes to #/hash and waits until page has drawn.
func (b *browser) open(hash, page string) {
	b.t.Helper()
	b.run("open "+hash,
		eval(fmt.Sprintf(`document.body.dataset.page = ""; location.hash = %q`, "#/"+hash)),
		b.waitPage(page))
}

// waitFor polls a JavaScript condition.
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	b.run(what, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(pageTimeout)))
}

// rows returns the cells' text of table id's body rows.
func (b *browser) rows(id string) [][]string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pageTimeout)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll("#%s tbody tr"), (tr) => Array.from(tr.cells, (td) => td.innerText.trim()))`, id)))
	if err != nil {
		b.t.Fatalf("browser: read table %s: %v", id, err)
	}
	return out
}

// screenshot writes the page's full screenshot as name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pageTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot of the %s page: %s", name, path)
}

func (b *browser) checkNoExceptions() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) > 0 {
		b.t.Errorf("uncaught exceptions in the console: %v", b.errors)
	}
}
