package cli

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// revision is a commit hash for the build information of the tests.
const revision = "5f1c9a0e2b7d4c3a8e6f0b1d2c3e4f5a6b7c8d9e"

// release is the version formatVersion falls back to in the tests.
const release = "0.9.0"

// buildInfo returns build information with the given main module version and build settings
// (key, value, key, value, …).
func buildInfo(version string, settings ...string) *debug.BuildInfo {
	info := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Path:      "proxyd.dev/proxyd",
		Main:      debug.Module{Path: "proxyd.dev/proxyd", Version: version},
	}
	for i := 0; i+1 < len(settings); i += 2 {
		info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return info
}

func TestFormatVersion(t *testing.T) {
	platform := []string{"GOARCH", "amd64", "GOOS", "linux"}
	vcs := func(modified string) []string {
		return append([]string{"vcs", "git", "vcs.revision", revision, "vcs.time", "2025-11-28T18:15:00Z", "vcs.modified", modified}, platform...)
	}
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{
			name: "release tag, clean tree",
			info: buildInfo("v1.2.0", vcs("false")...),
			want: "proxyd v1.2.0, commit " + revision + ", 2025-11-28T18:15:00Z, go1.26.8 linux/amd64",
		},
		{
			name: "pseudo-version, modified tree",
			info: buildInfo("v0.0.0-20251128181500-5f1c9a0e2b7d+dirty", vcs("true")...),
			want: "proxyd v0.0.0-20251128181500-5f1c9a0e2b7d+dirty, commit " + revision + " (dirty), 2025-11-28T18:15:00Z, go1.26.8 linux/amd64",
		},
		{
			name: "workspace build with version control information",
			info: buildInfo("(devel)", vcs("false")...),
			want: "proxyd " + release + ", commit " + revision + ", 2025-11-28T18:15:00Z, go1.26.8 linux/amd64",
		},
		{
			name: "built without version control information",
			info: buildInfo("(devel)", platform...),
			want: "proxyd " + release + ", commit unknown, go1.26.8 linux/amd64",
		},
		{
			name: "no main module version, no platform",
			info: buildInfo(""),
			want: "proxyd " + release + ", commit unknown, go1.26.8",
		},
		{
			name: "half a platform",
			info: buildInfo("v1.2.0", "GOOS", "linux"),
			want: "proxyd v1.2.0, commit unknown, go1.26.8",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, formatVersion(tc.info, release)); diff != "" {
				t.Errorf("formatVersion differs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVersionString checks what the test binary's own build information gives: a test binary has
// no version control information and the module version "(devel)", so the release is Version.
func TestVersionString(t *testing.T) {
	got := VersionString()
	want := "proxyd " + Version + ", commit unknown, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VersionString differs (-want +got):\n%s", diff)
	}
}
