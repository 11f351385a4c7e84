package cli

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// unknownCommit is printed for the commit of a binary built without version control
// information (no .git directory, no git, or -buildvcs=false).
const unknownCommit = "unknown"

// VersionString returns what `proxyd --version` prints, taken from the build information the Go
// toolchain embeds in the binary: the module version, or Version where the toolchain recorded
// none ("(devel)", as for builds in the go.work workspace), the commit with its time and whether
// the work tree had changes, the Go version and the platform. For example:
//
//	proxyd v1.2.0, commit 5f1c9a0e2b7d4c3a8e6f0b1d2c3e4f5a6b7c8d9e, 2025-11-28T18:15:00Z, go1.26.8 linux/amd64
//	proxyd 0.1.0, commit 5f1c9a0e2b7d4c3a8e6f0b1d2c3e4f5a6b7c8d9e (dirty), 2025-11-28T18:15:00Z, go1.26.8 linux/amd64
//	proxyd 0.1.0, commit unknown, go1.26.8 linux/amd64
func VersionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		// Only a binary built outside module mode lacks build information; proxyd is a module.
		info = &debug.BuildInfo{GoVersion: runtime.Version()}
	}
	return formatVersion(info, Version)
}

// formatVersion formats info as VersionString describes, with release as the version where info
// has no module version.
func formatVersion(info *debug.BuildInfo, release string) string {
	settings := make(map[string]string, len(info.Settings))
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	version := info.Main.Version
	if version == "" || version == "(devel)" {
		version = release
	}
	commit := settings["vcs.revision"]
	if commit == "" {
		commit = unknownCommit
	}
	if settings["vcs.modified"] == "true" {
		commit += " (dirty)"
	}
	parts := []string{"proxyd " + version, "commit " + commit}
	if t := settings["vcs.time"]; t != "" {
		parts = append(parts, t)
	}
	toolchain := info.GoVersion
	if goos, goarch := settings["GOOS"], settings["GOARCH"]; goos != "" && goarch != "" {
		toolchain += " " + goos + "/" + goarch
	}
	return strings.Join(append(parts, toolchain), ", ")
}
