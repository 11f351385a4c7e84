//go:build !linux

package exepages

// Release does nothing where proxyd does not know how the executable is mapped.
func Release() (int, error) { return 0, nil }
