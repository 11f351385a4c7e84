// Package router decides which backend serves an HTTP request-target, and rewrites the target when
// the matched prefix is to be stripped.
//
// # Targets
//
// A request-target is one of the four forms of RFC 9112 §3.2. Origin-form ("/a/b?q") and
// absolute-form ("http://h/a/b?q", scheme http or https in any case; an empty path is "/") are routed
// by their path, the part before the first "?". Asterisk-form ("*") and authority-form ("host:port",
// as CONNECT sends it; "http:80" is a host named http) go to the default backend with no error.
// Anything else is rejected: a "#" anywhere, since no form carries a fragment and backends that cut
// one off would see "/admin" in "/admin#x", as ReasonFragment; an absolute-form target of another
// scheme ("ws://h/x", "ftp://h/x") as ReasonScheme; a target in none of the forms ("foo", "http:/x",
// "http:x", "http//x", "://x", "") as ReasonMalformedTarget; and a "\" in the authority of an
// absolute-form target as ReasonBackslash.
//
// # Normal form
//
// Routing sees the path as backends do once they decode it, in its normal form (RFC 3986 §6.2.2):
// an escape of an unreserved character (ALPHA / DIGIT / "-" / "." / "_" / "~") is decoded, the hex
// digits of every other escape are upper-cased ("%2f" is "%2F", "%c3%a9" is "%C3%A9"), and each run of
// "/" is one "/". So "/%61pi/x" and "//api/x" route as "/api/x". Nothing else is decoded for matching:
// "%2F" is an ordinary character unless Options.EscapedSlashes says otherwise, and raw UTF-8 is not
// its escapes. The query is never normalised or checked. Route paths are normalised by New the
// same way (ParseRoute keeps them as written), and two routes with the same normal form are an error.
//
// # Routes
//
// From most to least specific, on normal forms:
//
//   - A route "/api" matches the path "/api" and, on a segment boundary, "/api/…"; it does not
//     match "/apiary" or "/api.json".
//   - A route ending in "/" ("/api/") matches "/api/" and everything below it, but not "/api".
//   - A route written with a trailing "*" ("/api*") is a plain string prefix: it matches "/apiary" too.
//   - The route "/" matches every path.
//
// An exact match wins, else the longest matching route; on equal length the route without "*" wins.
// A request no route matches goes to the default backend.
//
// # Rejected paths
//
// A path that backends could resolve to another one than it is routed by is rejected with a
// *PathError (answered 400 by proxyd), whatever the routes:
//
//   - a dot segment, "." or "..", each dot literal or "%2e"/"%2E" (ReasonDotSegment), also when a
//     path parameter follows it ("..;", ".;x", "%2e%2e;x=1", "..%3B"), since Tomcat strips path
//     parameters before it resolves dot segments. For this check a segment ends at "/", "%2F", "\"
//     and "%5C", as at "/" for backends that decode "%2F" or read "\" as "/" ("/a/..%2Fb" is "/b");
//   - an encoded NUL "%00" (ReasonEncodedNUL), and a "%" not followed by two hex digits
//     (ReasonBadEscape);
//   - a literal "\" anywhere in the path (ReasonBackslash): WHATWG URL parsers and Windows servers
//     read it as "/";
//   - "%5C" or "%5c" anywhere in the path (ReasonEncodedBackslash). Unlike "%2F" it is refused
//     outright rather than made an option: a backend that decodes it and then treats "\" as "/" turns
//     "/%5Capi/x" into "/api/x", and Tomcat and Spring Security's StrictHttpFirewall refuse it too;
//   - with EscapedSlashes Reject, "%2F" or "%2f" anywhere in the path (ReasonEncodedSlash).
//
// # Encoded slashes
//
// Options.EscapedSlashes, modelled on Envoy's path_with_escaped_slashes_action, says what "%2F" means
// for routing: Keep (the default) matches it as an ordinary character ("/api%2Fx" is not below
// "/api"), Reject refuses the request, Decode matches it as "/" and merges it with neighbouring
// slashes ("/api%2Fx" and "/%2Fapi" are below "/api"). The target is forwarded as sent in every case.
//
// # Rewriting
//
// Match.Strip counts raw bytes: those whose normal form is the matched route path without a trailing
// "/" ("//api/x" strips "//api", 5 bytes, with the route "/api"). Rewrite removes them and forwards
// the rest byte for byte, escapes as sent, behind a "/" when it does not start with one. It checks the
// result as Match checks a path, since removing a "*" route's prefix can make a dot segment ("/pre*"
// turns "/pre../admin" into "/../admin"), and rejects it with a *PathError.
//
// The package is pure: no I/O, goroutines, logging or package-level mutable state. A compiled Table is
// immutable and safe for concurrent use; [Table.Match] and [Rewrite] do not allocate unless they
// return an error: a path not in normal form is normalised a small window at a time on the stack.
package router
