package exepages

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// resident returns how many kB of the read-only private mappings of the file mapped at address pc
// are resident, and the mappings' Rss by start address.
func resident(t *testing.T, pc uintptr) (int64, map[uintptr]int64) {
	t.Helper()
	ms, err := readOnlyOf("/proc/self/smaps", pc)
	if err != nil {
		t.Fatal(err)
	}
	var kB int64
	byStart := map[uintptr]int64{}
	for _, m := range ms {
		kB += m.rssKiB
		byStart[m.start] = m.rssKiB
	}
	return kB, byStart
}

func TestReleaseDropsExecutablePages(t *testing.T) {
	code := reflect.ValueOf(Release).Pointer()
	before, _ := resident(t, code)
	n, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after, _ := resident(t, code)
	t.Logf("advised %d kB; resident %d kB -> %d kB", n/1024, before, after)
	if n == 0 {
		t.Fatal("Release found no read-only mapping of the test binary")
	}
	// What the test itself touches between Release and reading smaps comes back; most of what
	// starting the test binary touched must not.
	if after > before*3/4 {
		t.Fatalf("%d kB of the binary resident after Release, %d kB before", after, before)
	}
}

// TestReleaseKeepsWrittenPages maps a file twice, read-only, once after writing to a page of its
// private copy (as the dynamic loader relocates a position-independent executable's read-only
// data): only the clean mapping is advised, and the written byte stays.
func TestReleaseKeepsWrittenPages(t *testing.T) {
	page := os.Getpagesize()
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, make([]byte, 2*page), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	written, err := unix.Mmap(int(f.Fd()), 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(written)
	written[0] = 42
	if err := unix.Mprotect(written, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	clean, err := unix.Mmap(int(f.Fd()), 0, 2*page, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(clean)
	if clean[0] != 0 || clean[page] != 0 { // both pages resident
		t.Fatal("the file is not zeros")
	}

	at := func(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
	_, rss := resident(t, at(written))
	if rss[at(clean)] != int64(2*page/1024) {
		t.Fatalf("clean mapping: %d kB resident before release, want %d", rss[at(clean)], 2*page/1024)
	}
	n, err := release("/proc/self/smaps", at(written))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2*page {
		t.Errorf("release advised %d bytes, want the clean mapping's %d", n, 2*page)
	}
	_, rss = resident(t, at(written))
	if rss[at(clean)] != 0 {
		t.Errorf("clean mapping: %d kB resident after release, want 0", rss[at(clean)])
	}
	if written[0] != 42 {
		t.Errorf("written byte is %d after release, want 42", written[0])
	}
}

func TestReadSmaps(t *testing.T) {
	smaps := "00400000-0094d000 r-xp 00000000 fd:01 1234567   /usr/bin/proxyd\n" +
		"Size:               5428 kB\n" +
		"Rss:                4788 kB\n" +
		"Anonymous:             0 kB\n" +
		"Swap:                  0 kB\n" +
		"VmFlags: rd ex mr mw me dw\n" +
		"00f2a000-00f97000 r--p 00b2a000 fd:01 1234567 /usr/bin/proxyd\n" +
		"Rss:                 308 kB\n" +
		"Anonymous:           300 kB\n" +
		"Swap:                  8 kB\n" +
		"28f8c000-28f94000 rw-p 00000000 00:00 0 \n"
	path := filepath.Join(t.TempDir(), "smaps")
	if err := os.WriteFile(path, []byte(smaps), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readSmaps(path)
	if err != nil {
		t.Fatal(err)
	}
	dev := unix.Mkdev(0xfd, 1)
	want := []mapping{
		{start: 0x400000, end: 0x94d000, readOnlyPrivate: true, dev: dev, inode: 1234567, rssKiB: 4788, anonKnown: true},
		{start: 0xf2a000, end: 0xf97000, readOnlyPrivate: true, dev: dev, inode: 1234567, rssKiB: 308, ownKiB: 308, anonKnown: true},
		{start: 0x28f8c000, end: 0x28f94000},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(mapping{})); diff != "" {
		t.Errorf("readSmaps (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		"Rss: 4 kB\n",
		"00400000-0094d000 r-xp 00000000 fd:01 1 /x\nRss: four kB\n",
		"00400000-0094d000 r-xp 00000000 fd:01 1 /x\nnot a mapping\n",
	} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readSmaps(path); err == nil {
			t.Errorf("readSmaps(%q): no error", bad)
		}
	}
}

func TestParseMapping(t *testing.T) {
	for _, tc := range []struct {
		line string
		want mapping
	}{
		{"00400000-0094d000 r-xp 00000000 fd:01 1234567   /usr/bin/proxyd",
			mapping{start: 0x400000, end: 0x94d000, readOnlyPrivate: true, dev: unix.Mkdev(0xfd, 1), inode: 1234567}},
		{"0094d000-00f2a000 r--p 0054d000 08:10 42 /usr/bin/proxyd (deleted)",
			mapping{start: 0x94d000, end: 0xf2a000, readOnlyPrivate: true, dev: unix.Mkdev(8, 0x10), inode: 42}},
		{"00f2a000-00f97000 rw-p 00b2a000 fd:01 1234567 /usr/bin/proxyd",
			mapping{start: 0xf2a000, end: 0xf97000, dev: unix.Mkdev(0xfd, 1), inode: 1234567}},
		{"7f000000-7f021000 r--s 00000000 00:05 7 /dev/shm/x",
			mapping{start: 0x7f000000, end: 0x7f021000, dev: unix.Mkdev(0, 5), inode: 7}},
		{"28f8c000-28f94000 rw-p 00000000 00:00 0 ",
			mapping{start: 0x28f8c000, end: 0x28f94000}},
	} {
		got, err := parseMapping([]byte(tc.line))
		if err != nil {
			t.Errorf("parseMapping(%q): %v", tc.line, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(mapping{})); diff != "" {
			t.Errorf("parseMapping(%q) (-want +got):\n%s", tc.line, diff)
		}
	}
	for _, line := range []string{
		"",
		"00400000-0094d000 r-xp 00000000 fd:01",
		"00400000 r-xp 00000000 fd:01 1",
		"00400000-0094d000 r-x 00000000 fd:01 1",
		"00400000-0094d000 r-xp 00000000 fd01 1",
		"00400000-zz r-xp 00000000 fd:01 1",
		"00400000-0094d000 r-xp 00000000 fd:01 -1",
	} {
		if _, err := parseMapping([]byte(line)); err == nil {
			t.Errorf("parseMapping(%q): no error", line)
		}
	}
}

func TestReleaseNeedsTheCodesMapping(t *testing.T) {
	smaps := filepath.Join(t.TempDir(), "smaps")
	// Addresses below the lowest a process may map (mmap_min_addr), should anything be advised.
	lines := "00001000-00002000 r-xp 00000000 fd:01 7 /usr/bin/proxyd\n" +
		"00003000-00004000 rw-p 00000000 00:00 0 \n"
	if err := os.WriteFile(smaps, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing is advised when the code is in no file mapping: outside every range, or in an
	// anonymous one.
	for _, pc := range []uintptr{0x800, 0x2000, 0x3000} {
		n, err := release(smaps, pc)
		if err == nil || n != 0 {
			t.Errorf("release(pc %#x) = %d, %v; want 0 and an error", pc, n, err)
		}
	}
	// Nor when the smaps file does not say how much of the mapping is the process's own.
	if n, err := release(smaps, 0x1000); err != nil || n != 0 {
		t.Errorf("release of a mapping without an Anonymous field = %d, %v; want 0 and no error", n, err)
	}
}
