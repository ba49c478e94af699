package victim

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// CheckOrigin returns an error that names the refused Origin and the flag
// that would allow it, if coder/websocket's Accept will refuse r for its
// Origin with patterns; otherwise nil. Accept makes the same check and
// writes the 403; this lets a server say why in its log.
//
// As in websocket.AcceptOptions, a request with no Origin (not a browser)
// or from the same host is allowed, and each pattern is matched with
// path.Match against the Origin's host, or against scheme://host when the
// pattern has "://". A file:// page sends "Origin: null", which only the
// pattern "*" allows.
func CheckOrigin(r *http.Request, patterns []string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("refused a WebSocket from Origin %q, which does not parse", origin)
	}
	if strings.EqualFold(r.Host, u.Host) {
		return nil
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return nil
		}
	}
	allow := u.Host
	if origin == "null" || u.Host == "" {
		allow = "'*'"
	}
	return fmt.Errorf("refused a WebSocket from Origin %q (browsers send it; this server is %s): allow it with --origin %s", origin, r.Host, allow)
}
