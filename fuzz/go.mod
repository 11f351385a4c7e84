module proxyd.dev/fuzz

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	proxyd.dev/router v0.0.0
	proxyd.dev/wire v0.0.0
)

replace proxyd.dev/router => ../router

replace proxyd.dev/wire => ../wire
