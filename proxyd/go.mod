module proxyd.dev/proxyd

go 1.26.0

require (
	github.com/alecthomas/kong v1.17.0
	github.com/coder/websocket v1.8.15
	github.com/google/go-cmp v0.7.0
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.50.0
	proxyd.dev/router v0.0.0
	proxyd.dev/wire v0.0.0
)

require golang.org/x/text v0.43.0 // indirect

replace proxyd.dev/router => ../router

replace proxyd.dev/wire => ../wire
