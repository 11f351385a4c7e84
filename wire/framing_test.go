package wire

import "testing"

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{HTTP10.String(), "HTTP/1.0"},
		{HTTP11.String(), "HTTP/1.1"},
		{Version(20).String(), "HTTP/?"},
		{BodyNone.String(), "none"},
		{BodyLength.String(), "length"},
		{BodyChunked.String(), "chunked"},
		{BodyUntilClose.String(), "until-close"},
		{BodyKind(9).String(), "invalid"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("String() = %q, want %q", tc.got, tc.want)
		}
	}
}
