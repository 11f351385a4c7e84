package h2

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/h2conn"
	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/routetest"
)

// TestSettings checks the limits proxyd advertises: bounded concurrent streams, the initial frame
// size of RFC 9113, the HPACK table size proxyd decodes with, and a header list size equal
// to the configured head size.
func TestSettings(t *testing.T) {
	p := startProxy(t, testConfig(t, routetest.Table(t, loopback.ClosedAddr(t))))
	got := h2test.Dial(t, p.addr, waitLimit).Settings()
	want := map[http2.SettingID]uint32{
		http2.SettingMaxConcurrentStreams: MaxConcurrentStreams,
		http2.SettingMaxFrameSize:         h2conn.FrameSize,
		http2.SettingHeaderTableSize:      h2conn.HeaderTableSize,
		http2.SettingMaxHeaderListSize:    testMaxHeaderSize,
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			delete(got, id)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}
