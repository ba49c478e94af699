package export

import "runtime/debug"

// moduleVersion is the lab's module version from the build info, such as
// "v1.2.0", or "(devel)" in a build from a clone.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
