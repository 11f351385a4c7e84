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
	table, err := router.New("127.0.0.1:8080", routes)
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
	table, _ := router.New("127.0.0.1:8080", []router.Route{api, v2})
	backends := table.Backends()
	for _, target := range []string{"/api/users?page=2", "/api/v2/users", "/apiary", "http://example.com/api", "*", "/api/../admin"} {
		m, err := table.Match([]byte(target))
		var bad *router.PathError
		if errors.As(err, &bad) {
			fmt.Printf("%-24s 400: %s at byte %d\n", target, bad.Reason, bad.Offset)
			continue
		}
		fmt.Printf("%-24s %s route %d\n", target, backends[m.Backend], m.Route)
	}
	// Output:
	// /api/users?page=2        10.0.0.1:80 route 1
	// /api/v2/users            10.0.0.2:80 route 0
	// /apiary                  127.0.0.1:8080 route -1
	// http://example.com/api   10.0.0.1:80 route 1
	// *                        127.0.0.1:8080 route -1
	// /api/../admin            400: dot segment at byte 5
}

func ExampleRewrite() {
	api, _ := router.ParseRoute("/api=10.0.0.1:80")
	table, _ := router.New("127.0.0.1:8080", []router.Route{api})
	buf := make([]byte, 0, 64)
	for _, target := range []string{"/api/users?x=1", "/api", "http://example.com/api/v1", "/other"} {
		m, _ := table.Match([]byte(target))
		buf = router.Rewrite(buf[:0], []byte(target), m)
		fmt.Printf("%s -> %s\n", target, buf)
	}
	// Output:
	// /api/users?x=1 -> /users?x=1
	// /api -> /
	// http://example.com/api/v1 -> http://example.com/v1
	// /other -> /other
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
