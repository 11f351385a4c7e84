package exepages

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// exeResident returns how many kB of the test binary's read-only mappings are resident, from
// /proc/self/smaps (proc_pid_smaps(5)).
func exeResident(t *testing.T) int {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	kB, counting := 0, false
	for line := range bytes.Lines(smaps) {
		if v, ok := bytes.CutPrefix(line, []byte("Rss:")); ok {
			if counting {
				n, err := strconv.Atoi(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))))
				if err != nil {
					t.Fatalf("Rss %q: %v", v, err)
				}
				kB += n
			}
			continue
		}
		if m, err := parseMapping(line); err == nil {
			counting = m.readOnlyPrivate && m.inode == uint64(st.Ino) && m.dev == uint64(st.Dev)
		}
	}
	return kB
}

func TestReleaseDropsExecutablePages(t *testing.T) {
	before := exeResident(t)
	n, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after := exeResident(t)
	t.Logf("advised %d kB; resident %d kB -> %d kB", n/1024, before, after)
	if n == 0 {
		t.Fatal("Release found no read-only mapping of the test binary")
	}
	// What the test itself touches between Release and reading the status comes back; most of what
	// starting the test binary touched must not.
	if after > before*3/4 {
		t.Fatalf("%d kB of the binary resident after Release, %d kB before", after, before)
	}
	// The code runs on, faulted in again as it is used.
	if got := strconv.Itoa(n); got == "" {
		t.Fatal("strconv after Release")
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
	maps := filepath.Join(t.TempDir(), "maps")
	// Addresses below the lowest a process may map (mmap_min_addr), should anything be advised.
	lines := "00001000-00002000 r-xp 00000000 fd:01 7 /usr/bin/proxyd\n" +
		"00003000-00004000 rw-p 00000000 00:00 0 \n"
	if err := os.WriteFile(maps, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing is advised when the code is in no file mapping: outside every range, or in an
	// anonymous one.
	for _, pc := range []uintptr{0x800, 0x2000, 0x3000} {
		n, err := release(maps, pc)
		if err == nil || n != 0 {
			t.Errorf("release(pc %#x) = %d, %v; want 0 and an error", pc, n, err)
		}
	}
	if err := os.WriteFile(maps, []byte(lines+"not a mapping\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := release(maps, 0x1000); err == nil || n != 0 {
		t.Errorf("release of a malformed maps file = %d, %v; want 0 and an error", n, err)
	}
}
