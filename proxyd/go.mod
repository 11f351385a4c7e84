module proxyd.dev/proxyd

go 1.26.0

require (
	proxyd.dev/router v0.0.0
	proxyd.dev/wire v0.0.0
)

require (
	github.com/alecthomas/kong v1.17.0 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/net v0.62.0 // indirect
)

replace proxyd.dev/router => ../router

replace proxyd.dev/wire => ../wire
