package router_test

import (
	"errors"
	"fmt"

	"proxyd.dev/router"
)

func ExampleParseRoute() {
	for _, spec := range []string{"/api=127.0.0.1:8081", "/static*=[::1]:8082", "api=localhost:80", "/api=localhost"} {
		r, err := router.ParseRoute(spec)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("path %q prefix %v backend %s\n", r.Path, r.Prefix, r.Backend)
	}
	// Output:
	// path "/api" prefix false backend 127.0.0.1:8081
	// path "/static" prefix true backend [::1]:8082
	// error: route path "api": must start with "/"
	// error: backend "localhost": missing port (want host:port)
}

func ExampleParseBackend() {
	for _, s := range []string{"Example.COM:08080", "[2001:db8:0::1]:443", "::1:80", "localhost:0"} {
		b, err := router.ParseBackend(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(b)
	}
	// Output:
	// example.com:8080
	// [2001:db8::1]:443
	// error: backend "::1:80": an IPv6 address must be in brackets, like [::1]:8080
	// error: backend "localhost:0": port 0 out of range 1-65535
}

func ExampleNew() {
	var routes []router.Route
	for _, spec := range []string{"/api=10.0.0.1:80", "/api/v2=10.0.0.2:80", "/webhook=10.0.0.1:80", "/img*=10.0.0.3:80"} {
		r, err := router.ParseRoute(spec)
		if err != nil {
			panic(err)
		}
		routes = append(routes, r)
	}
	table, err := router.New("127.0.0.1:8080", routes, router.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println("backends:", table.Backends())
	for i, r := range table.Routes() {
		fmt.Println(i, r)
	}
	// Output:
	// backends: [127.0.0.1:8080 10.0.0.1:80 10.0.0.2:80 10.0.0.3:80]
	// 0 /webhook=10.0.0.1:80
	// 1 /api/v2=10.0.0.2:80
	// 2 /api=10.0.0.1:80
	// 3 /img*=10.0.0.3:80
}

func ExampleTable_Match() {
	api, _ := router.ParseRoute("/api=10.0.0.1:80")
	v2, _ := router.ParseRoute("/api/v2=10.0.0.2:80")
	table, _ := router.New("127.0.0.1:8080", []router.Route{api, v2}, router.Options{})
	backends := table.Backends()
	for _, target := range []string{
		"/api/users?page=2", "/api/v2/users", "/apiary", "http://example.com/api", "*",
		"//api/x", "/%61pi/V2", "/api/../admin", "/api/..;/admin", `/api\admin`, "ws://h/api/x",
	} {
		m, err := table.Match([]byte(target))
		var bad *router.PathError
		if errors.As(err, &bad) {
			fmt.Printf("%-24s 400: %s at byte %d\n", target, bad.Reason, bad.Offset)
			continue
		}
		fmt.Printf("%-24s %s route %d strip %d\n", target, backends[m.Backend], m.Route, m.Strip)
	}
	// Output:
	// /api/users?page=2        10.0.0.1:80 route 1 strip 4
	// /api/v2/users            10.0.0.2:80 route 0 strip 7
	// /apiary                  127.0.0.1:8080 route -1 strip 0
	// http://example.com/api   10.0.0.1:80 route 1 strip 4
	// *                        127.0.0.1:8080 route -1 strip 0
	// //api/x                  10.0.0.1:80 route 1 strip 5
	// /%61pi/V2                10.0.0.1:80 route 1 strip 6
	// /api/../admin            400: dot segment at byte 5
	// /api/..;/admin           400: dot segment at byte 5
	// /api\admin               400: backslash ("\") at byte 4
	// ws://h/api/x             400: scheme is not http or https at byte 0
}

func ExampleNew_escapedSlashes() {
	api, _ := router.ParseRoute("/api=10.0.0.1:80")
	for _, slashes := range []router.EscapedSlashes{router.Keep, router.Reject, router.Decode} {
		table, err := router.New("127.0.0.1:8080", []router.Route{api}, router.Options{EscapedSlashes: slashes})
		if err != nil {
			panic(err)
		}
		m, err := table.Match([]byte("/api%2Fusers"))
		fmt.Printf("%-6s route %d strip %d, %v\n", slashes, m.Route, m.Strip, err)
	}
	// Output:
	// keep   route -1 strip 0, <nil>
	// reject route -1 strip 0, router: bad path "/api%2Fusers" at byte 4: encoded slash (%2F)
	// decode route 0 strip 4, <nil>
}

func ExampleParseEscapedSlashes() {
	for _, s := range []string{"keep", "decode", "Decode"} {
		v, err := router.ParseEscapedSlashes(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%s: %d\n", v, v)
	}
	// Output:
	// keep: 0
	// decode: 2
	// error: escaped slashes "Decode": want keep, reject or decode
}

func ExampleRewrite() {
	api, _ := router.ParseRoute("/api=10.0.0.1:80")
	pre, _ := router.ParseRoute("/pre*=10.0.0.2:80")
	table, _ := router.New("127.0.0.1:8080", []router.Route{api, pre}, router.Options{})
	buf := make([]byte, 0, 64)
	for _, target := range []string{
		"/api/users?x=1", "/api", "http://example.com/api/v1", "/other", "//%61pi/%75sers", "/pre../admin",
	} {
		m, _ := table.Match([]byte(target))
		out, err := router.Rewrite(buf[:0], []byte(target), m)
		if err != nil {
			fmt.Printf("%s -> error: %v\n", target, err)
			continue
		}
		fmt.Printf("%s -> %s\n", target, out)
	}
	// Output:
	// /api/users?x=1 -> /users?x=1
	// /api -> /
	// http://example.com/api/v1 -> http://example.com/v1
	// /other -> /other
	// //%61pi/%75sers -> /%75sers
	// /pre../admin -> error: router: bad path "/../admin" at byte 1: dot segment
}

func ExamplePath() {
	for _, target := range []string{"/a/b?q=1", "http://example.com:8080/x?y", "*"} {
		fmt.Printf("%q\n", router.Path([]byte(target)))
	}
	// Output:
	// "/a/b"
	// "/x"
	// ""
}
