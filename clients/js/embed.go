// Package js holds the lab's JavaScript client: mitmlab.mjs, the protocol
// module, written from docs/protocol.md with WebCrypto alone, and cli.mjs,
// its command line for Node. The Go package only carries the module, so
// that the victim page `mitmlab server --web` serves (package web) runs the
// very same file as `node clients/js/cli.mjs`; README.md says how to use
// both.
package js

import (
	"embed"
	"io/fs"
)

//go:embed mitmlab.mjs
var files embed.FS

// ModuleName is the protocol module's file name.
const ModuleName = "mitmlab.mjs"

// Files returns the module, as a read-only file system holding ModuleName.
func Files() fs.FS { return files }
