package h2conn

import "testing"

// TestIsConnectionField checks the five connection-specific fields in any case, and that fields
// of the same lengths, or containing their names, are not taken for them.
func TestIsConnectionField(t *testing.T) {
	for name, want := range map[string]bool{
		"Connection": true, "connection": true, "KEEP-ALIVE": true, "Proxy-Connection": true,
		"transfer-encoding": true, "Upgrade": true,
		"Connectio": false, "Keep-Alive2": false, "Content-Type": false, "Transfer-Encodinf": false,
		"Upgrades": false, "Te": false, "": false,
	} {
		if got := IsConnectionField(name); got != want {
			t.Errorf("IsConnectionField(%q) = %v, want %v", name, got, want)
		}
	}
}
