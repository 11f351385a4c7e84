module proxyd.dev/proxyd

go 1.26.0

require (
	github.com/alecthomas/kong v1.17.0
	github.com/coder/websocket v1.8.15
	github.com/google/go-cmp v0.7.0
	go.uber.org/goleak v1.3.0
	proxyd.dev/router v0.0.0
	proxyd.dev/wire v0.0.0
)

replace proxyd.dev/router => ../router

replace proxyd.dev/wire => ../wire
