// Package web serves the victim page: a page in which the browser is
// Alice. `mitmlab server --web` serves it at "/", on the same origin as
// the scheme's WebSocket endpoint, so the page may connect without any
// --origin. The page runs the protocol module of the JavaScript client
// (package clients/js, the file mitmlab.mjs), so the browser and `node
// clients/js/cli.mjs` share one implementation, WebCrypto only.
//
// The server puts its own pin into the page it serves, in
// <meta name="mitmlab-pin">. That is the lesson of docs/browser.md: a pin
// that arrives with the page is only as safe as the page's delivery, and
// an attacker who can change the page (`mitmlab attacker --attack
// rewrite-pin`, over plain HTTP) changes the pin.
//
// # Query parameters
//
// The page reads scheme, message (repeatable), pin, name and autorun=1
// from its query string, and from its fragment (#message=...), which the
// browser never sends: the query crosses the network with the GET, where
// an attacker on plain HTTP reads it. When a run ends the page writes
// <pre id="outcome"> with {"scheme","sent","replies","refused","reason"},
// and "received", the replies it accepted.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	js "github.com/mitmlab/mitmlab/clients/js"
)

//go:embed page.html page.mjs page.css
var files embed.FS

// PinMeta is the name of the meta element that carries the server's pin.
const PinMeta = "mitmlab-pin"

// Options says what the page shows before the visitor changes anything.
type Options struct {
	// Scheme is the scheme the server speaks: the page's default.
	Scheme string
	// Pin is the server's pin (sha256/BASE64), put into the page; empty
	// for a scheme without one.
	Pin string
	// Schemes lists what the page offers to choose from; empty means Scheme
	// alone.
	Schemes []string
}

// Handler serves the page at "/" and its modules, and passes every other
// request (the WebSocket upgrades) to ws.
func Handler(ws http.Handler, opts Options) http.Handler {
	if len(opts.Schemes) == 0 {
		opts.Schemes = []string{opts.Scheme}
	}
	return &handler{ws: ws, opts: opts, page: template.Must(template.ParseFS(files, "page.html"))}
}

type handler struct {
	ws   http.Handler
	opts Options
	page *template.Template
}

// IsPageRequest reports whether r asks for a page or a file rather than a
// WebSocket: a GET or HEAD with no Upgrade header.
func IsPageRequest(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		!strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !IsPageRequest(r) {
		h.ws.ServeHTTP(w, r)
		return
	}
	// The page's scripts come from this server only, and it connects to
	// this server only; nothing is cached, so every visit fetches the page
	// (and its pin) again.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case "/":
		var b bytes.Buffer
		data := struct {
			Options
			PinAttr template.HTMLAttr
		}{h.opts, pinAttr(h.opts.Pin)}
		if err := h.page.Execute(&b, data); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b.Bytes())
	case "/page.mjs":
		serveFile(w, files, "page.mjs", "text/javascript; charset=utf-8")
	case "/page.css":
		serveFile(w, files, "page.css", "text/css; charset=utf-8")
	case "/" + js.ModuleName:
		serveFile(w, js.Files(), js.ModuleName, "text/javascript; charset=utf-8")
	default:
		http.NotFound(w, r)
	}
}

// pinAttr is the pin meta element's content attribute. A pin is written
// as it is, so that the page's source shows it as the server prints it;
// anything that is not a pin's characters is escaped.
func pinAttr(pin string) template.HTMLAttr {
	for _, c := range pin {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=", c) {
			return template.HTMLAttr(`content="` + template.HTMLEscapeString(pin) + `"`)
		}
	}
	return template.HTMLAttr(`content="` + pin + `"`)
}

func serveFile(w http.ResponseWriter, fsys fs.FS, name, contentType string) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Write(b)
}
