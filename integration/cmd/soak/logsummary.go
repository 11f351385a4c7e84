//go:build linux

package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// problems summarises proxyd's WARN and ERROR log lines, most frequent first: the message, the
// status and the last part of the error (no addresses), with a count each.
func (p *proxydProc) problems() string {
	counts := map[string]int{}
	p.mu.Lock()
	for _, line := range p.lines {
		f := logFields(line)
		if f["level"] != "WARN" && f["level"] != "ERROR" {
			continue
		}
		key := f["msg"]
		if st := f["status"]; st != "" {
			key += " status=" + st
		}
		if err := f["err"]; err != "" {
			key += " (" + err[strings.LastIndex(err, ": ")+1:] + ")"
		}
		counts[key]++
	}
	p.mu.Unlock()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(counts[b]-counts[a], strings.Compare(a, b)) })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%dx %s", counts[k], strings.TrimSpace(k)))
	}
	return strings.Join(parts, "; ")
}

// logFields parses a log/slog text line: key=value pairs, values plain or quoted.
func logFields(line string) map[string]string {
	f := map[string]string{}
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		key, rest, ok := strings.Cut(line, "=")
		if !ok {
			break
		}
		val := rest
		if q, err := strconv.QuotedPrefix(rest); err == nil {
			val, _ = strconv.Unquote(q)
			line = rest[len(q):]
		} else {
			val, line, _ = strings.Cut(rest, " ")
		}
		f[key] = val
	}
	return f
}
