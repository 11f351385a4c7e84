module proxyd.dev/scripts/evloop

go 1.26.0

require (
	golang.org/x/sys v0.50.0
	proxyd.dev/router v0.0.0
	proxyd.dev/wire v0.0.0
)

replace proxyd.dev/router => ../../router

replace proxyd.dev/wire => ../../wire
