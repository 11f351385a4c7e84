package exepages

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// Release advises the kernel that the executable's read-only private mappings (its code, constants
// and function tables) are not needed (madvise(2) MADV_DONTNEED), and returns how many bytes they
// span. Their contents are the file's, so nothing is lost: a page touched later is mapped again
// from the page cache. Writable mappings (the program's variables) are left alone.
func Release() (int, error) {
	return release("/proc/self/maps", reflect.ValueOf(Release).Pointer())
}

// release is Release on the file whose mapping, as the maps file lists it, holds the code address
// pc. The maps file names the file by device and inode as the mapping sees it, which for a
// container's layered file system is not what stat(2) on the path gives.
func release(maps string, pc uintptr) (int, error) {
	text, err := os.ReadFile(maps)
	if err != nil {
		return 0, fmt.Errorf("exepages: %w", err)
	}
	var all []mapping
	for line := range bytes.Lines(text) {
		m, err := parseMapping(line)
		if err != nil {
			return 0, fmt.Errorf("exepages: %s: %w", maps, err)
		}
		all = append(all, m)
	}
	i := slices.IndexFunc(all, func(m mapping) bool { return m.start <= pc && pc < m.end })
	if i < 0 || all[i].inode == 0 {
		return 0, fmt.Errorf("exepages: no file mapping in %s holds the code at %#x", maps, pc)
	}
	exe := all[i]
	released := 0
	for _, m := range all {
		if m.dev != exe.dev || m.inode != exe.inode || !m.readOnlyPrivate {
			continue
		}
		// The range is an address from the maps file, not memory of a Go value: no slice to
		// pass to unix.Madvise.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("exepages: madvise %#x-%#x: %w", m.start, m.end, errno)
		}
		released += int(m.end - m.start)
	}
	return released, nil
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
