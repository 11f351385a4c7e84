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
