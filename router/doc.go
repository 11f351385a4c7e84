// Package router decides which backend serves an HTTP request-target, and rewrites the target when
// the matched prefix is to be stripped.
//
// A route is written PATH=BACKEND. Requests are matched on the path of the request-target only (never
// the query), byte for byte: percent-escapes are not decoded, so "%41pi" is not "/api" and "%2F" is an
// ordinary byte. The rules, from most to least specific:
//
//   - A route "/api" matches the path "/api" and, on a segment boundary, "/api/…"; it does not
//     match "/apiary" or "/api.json".
//   - A route ending in "/" ("/api/") matches "/api/" and everything below it, but not "/api".
//   - A route written with a trailing "*" ("/api*") is a plain string prefix: it matches "/apiary" too.
//   - The route "/" matches every path.
//
// An exact match wins, else the longest matching route; on equal length the route without "*" wins.
// A request no route matches goes to the default backend, as do targets without a path ("*",
// authority-form).
//
// A path that backends could resolve to a different one is rejected with a *PathError: a dot segment
// ("." or "..", literal or percent-encoded), an encoded NUL ("%00"), or a "%" not followed by two hex
// digits. For this check alone an encoded slash ends a segment as "/" does, because backends that
// decode "%2F" resolve "/a/..%2Fb" to "/b".
//
// The package is pure: no I/O, goroutines, logging or package-level mutable state. A compiled Table is
// immutable and safe for concurrent use; [Table.Match] (unless it rejects a path) and [Rewrite] do not
// allocate.
package router
