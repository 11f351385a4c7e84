module proxyd.dev/fuzz

go 1.26

require (
	proxyd.dev/router v0.0.0
	proxyd.dev/wire v0.0.0
)

replace proxyd.dev/router => ../router

replace proxyd.dev/wire => ../wire
