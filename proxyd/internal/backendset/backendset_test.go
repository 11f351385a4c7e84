package backendset

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type fake struct {
	addr    string
	retired bool
}

func TestUseKeepsOpensAndRetires(t *testing.T) {
	var opened []string
	s := New(func(addr string) *fake {
		opened = append(opened, addr)
		return &fake{addr: addr}
	}, func(f *fake) { f.retired = true })

	first := s.Use([]string{"a:1", "b:1", "a:1"})
	if first[0] != first[2] {
		t.Fatal("one address got two objects")
	}
	second := s.Use([]string{"b:1", "c:1"})
	if second[0] != first[1] {
		t.Error("b:1, routed before and after, got a new object")
	}
	if !first[0].retired {
		t.Error("a:1, no longer routed, was not retired")
	}
	if first[1].retired || second[1].retired {
		t.Error("a backend still routed was retired")
	}
	if diff := cmp.Diff([]string{"a:1", "b:1", "c:1"}, opened); diff != "" {
		t.Errorf("opened (-want +got):\n%s", diff)
	}
	var each []string
	for addr, f := range s.All() {
		each = append(each, addr+"="+f.addr)
	}
	slices.Sort(each)
	if diff := cmp.Diff([]string{"b:1=b:1", "c:1=c:1"}, each); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}

	s.Close()
	if !second[0].retired || !second[1].retired {
		t.Error("Close left a backend open")
	}
	for addr := range s.All() {
		t.Errorf("%s still in the set after Close", addr)
	}
}

// TestGet returns the object Use made for an address, and opens one for an address the set does
// not have, which the next Use retires when it leaves the address out.
func TestGet(t *testing.T) {
	opened := 0
	s := New(func(addr string) *fake {
		opened++
		return &fake{addr: addr}
	}, func(f *fake) { f.retired = true })
	routed := s.Use([]string{"a:1"})
	if got := s.Get("a:1"); got != routed[0] {
		t.Error("Get returned another object than Use made for a:1")
	}
	extra := s.Get("b:1")
	if extra.addr != "b:1" || s.Get("b:1") != extra {
		t.Errorf("Get(b:1) returned %+v, then another object", extra)
	}
	if opened != 2 {
		t.Errorf("%d objects opened, want 2", opened)
	}
	s.Use([]string{"a:1"})
	if !extra.retired || routed[0].retired {
		t.Errorf("after Use(a:1): b:1 retired %v (want true), a:1 retired %v (want false)", extra.retired, routed[0].retired)
	}
}
