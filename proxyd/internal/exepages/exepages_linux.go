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
// span. Only mappings whose every page is still the file's are advised, so nothing is lost: a page
// touched later is mapped again from the page cache. A mapping with a page of its own (a private
// copy made by a write, as the dynamic loader relocates a position-independent executable's
// read-only data before it protects it, or a debugger's breakpoint in code) keeps all its pages,
// and so do writable mappings (the program's variables).
func Release() (int, error) {
	return release("/proc/self/smaps", reflect.ValueOf(Release).Pointer())
}

// release is Release on the file whose mapping, as the smaps file lists it, holds the code address
// pc.
func release(smaps string, pc uintptr) (int, error) {
	ms, err := readOnlyOf(smaps, pc)
	if err != nil {
		return 0, err
	}
	released := 0
	for _, m := range ms {
		if !m.allFile() {
			continue
		}
		// The range is an address from the smaps file, not memory of a Go value: no slice to
		// pass to unix.Madvise.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("exepages: madvise %#x-%#x: %w", m.start, m.end, errno)
		}
		released += int(m.end - m.start)
	}
	return released, nil
}

// readOnlyOf returns the read-only private mappings, as the smaps file lists them, of the file whose
// mapping holds the address pc. The smaps file names the file by device and inode as the mapping
// sees it, which need not be what stat(2) on the file's path gives.
func readOnlyOf(smaps string, pc uintptr) ([]mapping, error) {
	all, err := readSmaps(smaps)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(all, func(m mapping) bool { return m.start <= pc && pc < m.end })
	if i < 0 || all[i].inode == 0 {
		return nil, fmt.Errorf("exepages: no file mapping in %s holds the address %#x", smaps, pc)
	}
	file := all[i]
	return slices.DeleteFunc(all, func(m mapping) bool {
		return m.dev != file.dev || m.inode != file.inode || !m.readOnlyPrivate
	}), nil
}

// mapping is what Release needs of one mapping in /proc/PID/smaps (proc_pid_smaps(5)): its line
// as in /proc/PID/maps,
//
//	00400000-0094d000 r-xp 00000000 fd:01 1234567   /usr/bin/proxyd
//
// and, from the fields below it, how much of it is resident and how much is the process's own.
type mapping struct {
	start, end      uintptr
	readOnlyPrivate bool // permissions r?-p: readable, not writable, private
	dev             uint64
	inode           uint64
	rssKiB          int64 // resident (Rss)
	ownKiB          int64 // pages that are no longer the file's: private copies (Anonymous) or swapped out (Swap)
	anonKnown       bool  // the Anonymous field was given
}

// allFile reports whether every page of the mapping is known to be the file's: the smaps file
// counted the mapping's private copies, and there are none.
func (m mapping) allFile() bool { return m.anonKnown && m.ownKiB == 0 }

// readSmaps reads the mappings of a smaps file.
func readSmaps(path string) ([]mapping, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("exepages: %w", err)
	}
	var all []mapping
	for line := range bytes.Lines(text) {
		key, val, isField := bytes.Cut(line, []byte(":"))
		if isField && !bytes.ContainsAny(key, " -") { // "Rss:  12 kB", not "00400000-... fd:01 ..."
			if len(all) == 0 {
				return nil, fmt.Errorf("exepages: %s: field %q before any mapping", path, bytes.TrimSpace(line))
			}
			if err := all[len(all)-1].setField(string(key), val); err != nil {
				return nil, fmt.Errorf("exepages: %s: %w", path, err)
			}
			continue
		}
		m, err := parseMapping(line)
		if err != nil {
			return nil, fmt.Errorf("exepages: %s: %w", path, err)
		}
		all = append(all, m)
	}
	return all, nil
}

// setField takes the smaps fields Release needs: sizes in kB.
func (m *mapping) setField(key string, val []byte) error {
	var dst *int64
	switch key {
	case "Rss":
		dst = &m.rssKiB
	case "Anonymous":
		dst, m.anonKnown = &m.ownKiB, true
	case "Swap":
		dst = &m.ownKiB
	default:
		return nil
	}
	n, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(val), []byte(" kB"))), 10, 64)
	if err != nil {
		return fmt.Errorf("field %s %q: %w", key, bytes.TrimSpace(val), err)
	}
	*dst += n
	return nil
}

// parseMapping parses one mapping's line, as /proc/PID/maps and smaps give it.
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
