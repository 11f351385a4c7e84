package router

import "strings"

// node is a node of a radix tree over route paths. The string a node stands for is the
// concatenation of the labels from the root down to it.
type node struct {
	label    string  // bytes consumed when entering the node from its parent
	indices  string  // first byte of each child's label, in the order of children
	children []*node // children, one per distinct first byte
	exact    int     // route (in match order) without "*" whose path is this node, or -1
	star     int     // route (in match order) with "*" whose path is this node, or -1
}

// newNode returns a node with the given label and no routes.
func newNode(label string) *node {
	return &node{label: label, exact: -1, star: -1}
}

// descend returns the node for the string n stands for followed by path, adding nodes and splitting
// labels as needed.
func (n *node) descend(path string) *node {
	for path != "" {
		k := strings.IndexByte(n.indices, path[0])
		if k < 0 {
			child := newNode(path)
			n.indices += path[:1]
			n.children = append(n.children, child)
			return child
		}
		child := n.children[k]
		common := commonPrefixLen(path, child.label)
		if common < len(child.label) {
			mid := newNode(child.label[:common])
			mid.indices = child.label[common : common+1]
			mid.children = []*node{child}
			child.label = child.label[common:]
			n.children[k] = mid
			child = mid
		}
		path = path[common:]
		n = child
	}
	return n
}

// commonPrefixLen returns the length of the longest common prefix of a and b.
func commonPrefixLen(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// lookup walks the normal form of a path once from n, the root, and returns the route (in match
// order) that wins for it, or -1. The path is win, followed by what more yields when win is used up
// (nil: nothing). Every node passed whose string is a prefix of the path offers its routes: the "*"
// route always, the other only on a segment boundary (the path ends there, continues with "/", or
// the route ends in "/"). A deeper node's route is longer and wins; at one node the route without
// "*" wins.
func (n *node) lookup(win []byte, more *pathStream) int {
	best := -1
	for {
		if n.star >= 0 {
			best = n.star
		}
		if len(win) == 0 {
			if win = more.next(); len(win) == 0 { // the path ends here: a segment boundary
				if n.exact >= 0 {
					return n.exact
				}
				return best
			}
		}
		if n.exact >= 0 && (win[0] == '/' || strings.HasSuffix(n.label, "/")) {
			best = n.exact
		}
		child := n.child(win[0])
		switch {
		case child == nil:
			return best
		case len(child.label) <= len(win): // always so for a path in normal form
			if string(win[:len(child.label)]) != child.label {
				return best
			}
			win = win[len(child.label):]
		default:
			var ok bool
			if win, ok = more.consume(win, child.label); !ok {
				return best
			}
		}
		n = child
	}
}

// narrowNode is the most children a node has for child to scan them inline (16); wider nodes use
// strings.IndexByte.
const narrowNode = 16

// child returns the child whose label starts with c, or nil.
func (n *node) child(c byte) *node {
	if len(n.indices) <= narrowNode {
		for k := 0; k < len(n.indices); k++ {
			if n.indices[k] == c {
				return n.children[k]
			}
		}
		return nil
	}
	if k := strings.IndexByte(n.indices, c); k >= 0 {
		return n.children[k]
	}
	return nil
}
