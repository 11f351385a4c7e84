package exepages

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Release advises the kernel that the executable's read-only private mappings (its code, constants
// and function tables) are not needed (madvise(2) MADV_DONTNEED), and returns how many bytes they
// span. Their contents are the file's, so nothing is lost: a page touched later is mapped again
// from the page cache. Writable mappings (the program's variables) are left alone.
func Release() (int, error) {
	return release("/proc/self/exe", "/proc/self/maps")
}

// release is Release on the executable exe, as mapped in the maps file.
func release(exe, maps string) (int, error) {
	var st unix.Stat_t
	if err := unix.Stat(exe, &st); err != nil {
		return 0, fmt.Errorf("exepages: stat %s: %w", exe, err)
	}
	text, err := os.ReadFile(maps)
	if err != nil {
		return 0, fmt.Errorf("exepages: %w", err)
	}
	released := 0
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		m, err := parseMapping(sc.Bytes())
		if err != nil {
			return released, fmt.Errorf("exepages: %s: %w", maps, err)
		}
		if m.inode != uint64(st.Ino) || m.dev != uint64(st.Dev) || !m.readOnlyPrivate {
			continue
		}
		// The range is an address from the maps file, not memory of a Go value: no slice to
		// pass to unix.Madvise.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("exepages: madvise %#x-%#x: %w", m.start, m.end, errno)
		}
		released += int(m.end - m.start)
	}
	return released, sc.Err()
}

// mapping is what Release needs of one line of /proc/PID/maps (proc_pid_maps(5)):
//
//	00400000-0094d000 r-xp 00000000 fd:01 1234567   /usr/bin/proxyd
type mapping struct {
	start, end      uintptr
	readOnlyPrivate bool // permissions r?-p: readable, not writable, private
	dev             uint64
	inode           uint64
}

// parseMapping parses one line of a maps file.
func parseMapping(line []byte) (mapping, error) {
	f := bytes.Fields(line)
	if len(f) < 5 {
		return mapping{}, fmt.Errorf("mapping %q: fewer than five fields", line)
	}
	var m mapping
	start, end, ok := bytes.Cut(f[0], []byte("-"))
	major, minor, ok2 := bytes.Cut(f[3], []byte(":"))
	if !ok || !ok2 || len(f[1]) != 4 {
		return mapping{}, fmt.Errorf("mapping %q: malformed", line)
	}
	var nums [5]uint64
	for i, s := range [][]byte{start, end, major, minor, f[4]} {
		base := 16
		if i == 4 {
			base = 10
		}
		n, err := strconv.ParseUint(string(s), base, 64)
		if err != nil {
			return mapping{}, fmt.Errorf("mapping %q: %w", line, err)
		}
		nums[i] = n
	}
	m.start, m.end = uintptr(nums[0]), uintptr(nums[1])
	m.dev, m.inode = unix.Mkdev(uint32(nums[2]), uint32(nums[3])), nums[4]
	perm := f[1]
	m.readOnlyPrivate = perm[0] == 'r' && perm[1] == '-' && perm[3] == 'p'
	return m, nil
}
