// Package chromium drives the system's Chromium, headless, for the
// browser lessons: the victim page in which the browser is Alice, and the
// browser's own errors for wss:// that the original question asked about.
// It uses chromedp, and only this package (and the tests and commands that
// run a browser) imports it, so the lab builds and runs without a browser.
//
// Every browser starts with a fresh profile (chromedp's temporary
// --user-data-dir, removed at Close) and with the flags that keep a
// headless Chromium from reaching outside the machine:
//
//	--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
//	--disable-background-networking --disable-component-update --disable-sync
package chromium

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// EnvPath names the environment variable that, if set, is the browser
// binary to use.
const EnvPath = "MITMLAB_CHROMIUM"

// Install says how to get the browser the lab looks for.
const Install = "install Debian's chromium (apt-get install chromium), or set " + EnvPath + " to a Chromium or Chrome binary"

// ErrNotFound is returned when no Chromium binary is found.
var ErrNotFound = errors.New("no Chromium found")

// names are the binaries Find looks for, in order.
var names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// Find returns the Chromium binary: $MITMLAB_CHROMIUM if set, else the
// first of chromium, chromium-browser, google-chrome on the PATH. The
// error wraps ErrNotFound and says how to install one.
func Find() (string, error) {
	if p := os.Getenv(EnvPath); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%w: %s=%s: %v; %s", ErrNotFound, EnvPath, p, err, Install)
		}
		return p, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked for %s on the PATH); %s", ErrNotFound, strings.Join(names, ", "), Install)
}

// Options configures a [Browser].
type Options struct {
	// Path is the binary; empty means [Find].
	Path string
	// HostRules, if set, is --host-resolver-rules, such as
	// "MAP bob.lab 127.0.0.1": how a name the lab made up reaches a
	// loopback address.
	HostRules string
	// TrustSPKI lists base64 SHA-256 hashes of public keys whose
	// certificates the browser accepts although no CA it knows issued
	// them (--ignore-certificate-errors-spki-list): how the lab's CA, made
	// at run time, is trusted by this browser and by no other.
	TrustSPKI []string
	// Timeout bounds each page; zero means 30 seconds.
	Timeout time.Duration
}

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	opts       Options
	path       string
	ctx        context.Context // the browser's own context (its first tab)
	stopAlloc  context.CancelFunc
	stopBrowse context.CancelFunc
}

// Start starts a browser. It returns an error wrapping [ErrNotFound] when
// there is no browser to start.
func Start(ctx context.Context, opts Options) (*Browser, error) {
	path := opts.Path
	if path == "" {
		var err error
		if path, err = Find(); err != nil {
			return nil, err
		}
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1100, 900),
	}
	if opts.HostRules != "" {
		flags = append(flags, chromedp.Flag("host-resolver-rules", opts.HostRules))
	}
	if len(opts.TrustSPKI) > 0 {
		flags = append(flags, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(opts.TrustSPKI, ",")))
	}
	actx, stopAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx), flags...)
	bctx, stopBrowse := chromedp.NewContext(actx)
	b := &Browser{opts: opts, path: path, ctx: bctx, stopAlloc: stopAlloc, stopBrowse: stopBrowse}
	// The first Do starts the browser, which then lives as long as the
	// context Do was given: bctx, not one with a timeout.
	if err := chromedp.Do(bctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return b, nil
}

// Close ends the browser and removes its profile.
func (b *Browser) Close() {
	b.stopBrowse()
	b.stopAlloc()
}

// Path returns the browser's binary.
func (b *Browser) Path() string { return b.path }

// Version returns the browser's product and version, such as
// "Chromium/156.0.8078.114" (Browser.getVersion).
func (b *Browser) Version(ctx context.Context) (string, error) {
	v, err := cdp.Call(ctx, chromedp.FromContext(b.ctx).Browser, browser.GetVersion, cdp.Empty{})
	if err != nil {
		return "", err
	}
	product := strings.TrimPrefix(v.Product, "Headless")
	return strings.Replace(product, "Chrome/", "Chromium/", 1), nil
}

// tab opens a new tab for one visit; cancel closes it.
func (b *Browser) tab(ctx context.Context) (context.Context, context.CancelFunc) {
	tctx, closeTab := chromedp.NewContext(b.ctx)
	tctx, cancel := context.WithTimeout(tctx, b.opts.Timeout)
	stop := context.AfterFunc(ctx, cancel)
	return tctx, func() {
		stop()
		cancel()
		closeTab()
	}
}

// Outcome is what the victim page writes in <pre id="outcome"> when a
// run ends.
type Outcome struct {
	Scheme  string `json:"scheme"`
	Sent    int    `json:"sent"`
	Replies int    `json:"replies"`
	Refused bool   `json:"refused"`
	Reason  string `json:"reason"`
	// Received are the replies the page accepted, in order.
	Received []string `json:"received"`
}

// Visit is what one visit to a page saw.
type Visit struct {
	// Outcome is the page's #outcome; nil when the page never wrote one
	// (it did not load, or did not finish in time).
	Outcome *Outcome
	// LoadError is the browser's own error for the page, such as
	// "net::ERR_CERT_AUTHORITY_INVALID", if it did not load.
	LoadError string
	// Errors are the browser's net::ERR_... names for what failed on the
	// page: the page itself, a file, or a WebSocket.
	Errors []string
	// Console is what the browser logged: its own messages and the page's.
	Console []string
	// Screenshot is a PNG of the page when the visit ended, if asked for.
	Screenshot []byte
	// Result is the value of VisitOptions.Read when the visit ended.
	Result string
}

// VisitOptions says what to collect on a visit.
type VisitOptions struct {
	// Screenshot asks for a PNG of the page when the visit ends.
	Screenshot bool
	// Wait is a JavaScript expression the visit waits to be true before it
	// ends; empty means the page's #outcome.
	Wait string
	// Read, if set, is a JavaScript expression whose value, a string, the
	// visit returns as Visit.Result.
	Read string
}

var netError = regexp.MustCompile(`net::ERR_[A-Z0-9_]+`)

// Visit opens url in a new tab, waits for the page to write its #outcome
// (or for opts.Wait), and returns what the browser saw. A page that does
// not load is not an error: Visit.LoadError says why.
func (b *Browser) Visit(ctx context.Context, url string, opts *VisitOptions) (*Visit, error) {
	if opts == nil {
		opts = &VisitOptions{}
	}
	tctx, closeTab := b.tab(ctx)
	defer closeTab()
	v := &Visit{}
	var mu sync.Mutex
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		v.Console = append(v.Console, s)
		for _, e := range netError.FindAllString(s, -1) {
			if !slices.Contains(v.Errors, e) {
				v.Errors = append(v.Errors, e)
			}
		}
	}
	if err := chromedp.Listen(tctx, func(ev any) {
		switch e := ev.(type) {
		case *log.EventEntryAdded:
			note(fmt.Sprintf("%s %s: %s", e.Entry.Source, e.Entry.Level, e.Entry.Text))
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			}
			note("console " + string(e.Type) + ": " + strings.Join(parts, " "))
		case *network.EventLoadingFailed:
			note(fmt.Sprintf("network %s failed: %s", e.Type, e.ErrorText))
		case *network.EventWebSocketFrameError:
			note("websocket frame error: " + e.ErrorMessage)
		}
	}); err != nil {
		return nil, err
	}
	if _, err := chromedp.Call(tctx, log.Enable, cdp.Empty{}); err != nil {
		return nil, err
	}
	if _, err := chromedp.Call(tctx, network.Enable, network.EnableParams{}); err != nil {
		return nil, err
	}
	if _, err := chromedp.Call(tctx, runtime.Enable, cdp.Empty{}); err != nil {
		return nil, err
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		if m := netError.FindString(err.Error()); m != "" {
			v.LoadError = m
			note("page failed to load: " + err.Error())
		} else {
			return nil, fmt.Errorf("open %s: %w", url, err)
		}
	}
	if v.LoadError == "" {
		wait := opts.Wait
		if wait == "" {
			wait = `(() => { const o = document.querySelector("#outcome"); return !!o && !o.hidden; })()`
		}
		if _, err := chromedp.Run(tctx, chromedp.Poll[bool](wait, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			note("the page did not finish: " + err.Error())
		} else if opts.Wait == "" {
			text, err := chromedp.Run(tctx, chromedp.TextContent("#outcome"))
			if err != nil {
				return nil, err
			}
			var o Outcome
			if err := json.Unmarshal([]byte(text), &o); err != nil {
				return nil, fmt.Errorf("the page's #outcome does not parse: %w: %q", err, text)
			}
			v.Outcome = &o
		}
	}
	if opts.Read != "" && v.LoadError == "" {
		res, err := chromedp.Run(tctx, chromedp.Evaluate[string](opts.Read))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", opts.Read, err)
		}
		v.Result = res
	}
	if opts.Screenshot {
		png, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
		if err != nil {
			return nil, err
		}
		v.Screenshot = png
	}
	return v, nil
}
